/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Context device bus: synthetic devices that each stand for one IOMMU
 * context (stream ID, IOMMU group, IOVA space, optional IOVA window) of a
 * parent device. See Documentation/driver-api/context-bus.rst.
 */
#ifndef _LINUX_CONTEXT_BUS_H
#define _LINUX_CONTEXT_BUS_H

#include <linux/device.h>
#include <linux/err.h>
#include <linux/types.h>

struct device_node;

/**
 * struct context_device_info - what a context device is made of
 * @np: device tree node that describes the IOMMU context: either a node
 *	with an "iommu-map" (usually the parent's), looked up with @fn_id,
 *	or the context's own node with "iommus". The bus takes its own
 *	reference.
 * @name: device name; NULL for "<parent name>:ctx.<fn_id>"
 * @fn_id: function id, the input id of "iommu-map"; with "iommus" only a
 *	label, shown in sysfs like the other
 * @dma_mask: DMA mask (streaming and coherent) of the device; required
 * @iova_start: first IOVA of the device's window
 * @iova_size: size of the IOVA window; 0 for no window, that is the whole
 *	range of @dma_mask, whatever @iova_start says
 * @flags: CONTEXT_DEVICE_* flags; 0 for none
 *
 * The IOVA window [@iova_start, @iova_start + @iova_size) is the only
 * range the DMA API hands out for the device: the IOMMU core reports
 * everything outside it as reserved regions of the device, and dma-iommu
 * never allocates there (iommu_set_iova_window()). Start and size must be
 * multiples of the IOMMU's IOVA granule (its smallest page size, which may
 * be smaller than PAGE_SIZE); the window may end at 2^64 if @dma_mask
 * allows it.
 */
struct context_device_info {
	struct device_node *np;
	const char *name;
	u32 fn_id;
	u64 dma_mask;
	u64 iova_start;
	u64 iova_size;
	u32 flags;
};

/*
 * Accept a context device whose IOMMU group has an identity (passthrough)
 * domain, as with iommu.passthrough=1: its DMA is not translated, so it is
 * isolated by nothing. Only for callers that worked without translation
 * before. A device with an IOVA window or "iommu-ranges" gets a DMA domain
 * all the same: the IOMMU core never gives it an identity one.
 */
#define CONTEXT_DEVICE_ALLOW_IDENTITY	0x1U

/*
 * Accept an IOMMU group shared with other context devices that set this
 * flag too and have the same window, as where the IOMMU driver puts several
 * stream IDs in one group: the devices then share one IOVA space and are
 * not isolated from each other. Without it a context device must be alone
 * in its group.
 */
#define CONTEXT_DEVICE_SHARE_GROUP	0x2U

/**
 * struct context_device - a device on the context device bus
 * @dev: the device; everything else is private to the bus
 */
struct context_device {
	struct device dev;
};

#define to_context_device(d) container_of_const(d, struct context_device, dev)

#ifdef CONFIG_CONTEXT_DEVICE_BUS

/*
 * For built-in code only (the IOMMU core, KUnit tests): it is not exported,
 * so that no module can register a driver on the bus.
 */
extern const struct bus_type context_device_bus_type;

/**
 * context_device_create() - create a context device for one IOMMU context
 * @parent: the device the context belongs to, bound to its driver; the
 *	context device may outlive the binding while DMA through it goes on
 * @info: what the context device is made of; copied, may go away after
 *	the call
 *
 * Creates a device on the context device bus and returns only once it is
 * fully usable: attached to its IOMMU (it has its own IOMMU group and the
 * group's default DMA domain), DMA masks set and the IOVA outside its
 * window reserved. No driver binds to it; the parent uses it directly for
 * the DMA API. Must not be called from atomic context.
 *
 * Every refusal is logged against @parent and leaves nothing behind.
 *
 * A node with "iommus" may also carry "iommu-ranges": the IOMMU core then
 * reserves every IOVA outside those ranges too, so that a window given as
 * well leaves the device where both allow.
 *
 * Return: the new device, or an ERR_PTR():
 * -EINVAL if @parent, @info or @info->np is NULL, @info->dma_mask is 0,
 * @info->flags has an unknown flag, @info->name is empty or has a '/', the
 * window or a range of "iommu-ranges" is not aligned to the IOVA granule,
 * "iommu-map" is malformed (short entries, a phandle that names no node),
 * or "iommu-ranges" is (see of_iommu_get_ranges());
 * -EOVERFLOW if the last byte of the window or of a range would lie beyond
 * 2^64;
 * -ERANGE if the window or a range is outside @info->dma_mask or the IOMMU
 * aperture, or the window meets none of the ranges, or misses the
 * node's "dma-ranges";
 * -ENOENT if @info->np has neither "iommu-map" nor "iommus";
 * -ENXIO if "iommu-map" does not cover @info->fn_id;
 * -EEXIST if a context device of that name exists;
 * -EBUSY if the context's IOMMU group holds another device, unless both are
 * context devices with CONTEXT_DEVICE_SHARE_GROUP and the same window (a
 * group has one domain and one IOVA space);
 * -EPROBE_DEFER if the IOMMU driver has not probed yet (not logged as an
 * error);
 * -ENODEV if the device is not behind an IOMMU, or its DMA is not
 * translated (an identity domain without CONTEXT_DEVICE_ALLOW_IDENTITY;
 * one with a window or "iommu-ranges" gets a DMA domain regardless);
 * -ENOMEM if memory runs out.
 */
struct context_device *context_device_create(struct device *parent,
					     const struct context_device_info *info);

/**
 * context_device_destroy() - remove a context device
 * @cdev: the device from context_device_create(); NULL is ignored
 *
 * Removes the device from the bus and from its IOMMU group, then drops the
 * creator's reference. The memory goes when the last reference does. Its
 * name is free for a new context device once this returns. Call it once
 * nothing is mapped through the device any more: DMA API calls for the
 * device after this no longer go through its IOMMU.
 */
void context_device_destroy(struct context_device *cdev);

/**
 * devm_context_device_create() - create a context device the parent owns
 * @parent: the device the context belongs to, bound to its driver
 * @info: as for context_device_create()
 *
 * Like context_device_create(), and the device is destroyed when @parent
 * is unbound.
 *
 * Return: the new device, or an ERR_PTR() as for context_device_create().
 */
struct context_device *devm_context_device_create(struct device *parent,
						  const struct context_device_info *info);

/**
 * dev_is_context_device() - tell whether a device is a context device
 * @dev: any device, or NULL
 *
 * Return: true if @dev is on the context device bus, false for NULL.
 */
bool dev_is_context_device(const struct device *dev);

#else /* !CONFIG_CONTEXT_DEVICE_BUS */

static inline struct context_device *
context_device_create(struct device *parent, const struct context_device_info *info)
{
	return ERR_PTR(-ENODEV);
}

static inline void context_device_destroy(struct context_device *cdev)
{
}

static inline struct context_device *
devm_context_device_create(struct device *parent, const struct context_device_info *info)
{
	return ERR_PTR(-ENODEV);
}

static inline bool dev_is_context_device(const struct device *dev)
{
	return false;
}

#endif /* CONFIG_CONTEXT_DEVICE_BUS */

#endif /* _LINUX_CONTEXT_BUS_H */
