// SPDX-License-Identifier: GPL-2.0
/*
 * Exports the C API of the context device bus to modules. The bus is
 * written in Rust (context_bus.rs); only the kernel crate's symbols are
 * exported automatically, so C modules such as host1x or fastrpc could
 * not link the API otherwise.
 */

#include <linux/context_bus.h>
#include <linux/export.h>

/* The definitions are in Rust: no C definition for the export to follow. */
#define CONTEXT_BUS_EXPORT(sym) EXPORT_SYMBOL_GPL(sym)

CONTEXT_BUS_EXPORT(context_device_create);
CONTEXT_BUS_EXPORT(context_device_destroy);
CONTEXT_BUS_EXPORT(devm_context_device_create);
CONTEXT_BUS_EXPORT(dev_is_context_device);
