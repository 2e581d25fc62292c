// SPDX-License-Identifier: GPL-2.0
/*
 * Exports the C API of the context device bus to modules. The bus is
 * written in Rust (context_bus.rs); only the kernel crate's symbols are
 * exported automatically, so C modules such as host1x or fastrpc could
 * not link the API otherwise.
 */

#include <linux/context_bus.h>
#include <linux/export.h>

EXPORT_SYMBOL_GPL(context_device_bus_type);
EXPORT_SYMBOL_GPL(context_device_create);
EXPORT_SYMBOL_GPL(context_device_destroy);
EXPORT_SYMBOL_GPL(devm_context_device_create);
EXPORT_SYMBOL_GPL(dev_is_context_device);
