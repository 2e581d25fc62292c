// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of the context device bus's C API. The bus and the API's
 * functions are Rust (context_bus.rs), whose symbols the build exports only
 * for the kernel crate: C modules such as host1x and fastrpc link them
 * through the exports here.
 */

#include <linux/context_bus.h>
#include <linux/device/devres.h>
#include <linux/export.h>

/* context_device_create() is defined in context_bus.rs, */
EXPORT_SYMBOL_GPL(context_device_create);
/* and so is context_device_destroy(), */
EXPORT_SYMBOL_GPL(context_device_destroy);
/* and dev_is_context_device(). */
EXPORT_SYMBOL_GPL(dev_is_context_device);

static void context_device_destroy_action(void *cdev)
{
	context_device_destroy(cdev);
}

/* Kernel-doc in include/linux/context_bus.h. */
struct context_device *devm_context_device_create(struct device *parent,
						  const struct context_device_info *info)
{
	struct context_device *cdev = context_device_create(parent, info);
	int ret;

	if (IS_ERR(cdev))
		return cdev;
	ret = devm_add_action_or_reset(parent, context_device_destroy_action, cdev);
	return ret ? ERR_PTR(ret) : cdev;
}
EXPORT_SYMBOL_GPL(devm_context_device_create);
