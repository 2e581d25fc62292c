// SPDX-License-Identifier: GPL-2.0
/*
 * Test managed helpers for KUnit tests that need a real IOMMU described in
 * the device tree: find it, describe an IOMMU that is not there, and fill a
 * device's IOVA space to see which addresses it is allowed.
 */

#include <kunit/iommu.h>
#include <kunit/of.h>
#include <kunit/test.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/overflow.h>
#include <linux/sizes.h>
#include <linux/slab.h>

/* The IOMMU of the machine the tests run on: QEMU virt,iommu=smmuv3. */
#define IOMMU_KUNIT_COMPATIBLE "arm,smmu-v3"

/**
 * iommu_kunit_phandle() - phandle of the machine's IOMMU
 * @test: test context; the test is skipped if the machine has no such IOMMU
 *
 * Return: the phandle of the "arm,smmu-v3" node, for "iommus" and
 * "iommu-map" properties of nodes the test builds. Its #iommu-cells is 1.
 */
u32 iommu_kunit_phandle(struct kunit *test)
{
	struct device_node *np;

	np = of_find_compatible_node(NULL, NULL, IOMMU_KUNIT_COMPATIBLE);
	if (!np || !of_device_is_available(np)) {
		of_node_put(np);
		kunit_skip(test, "no %s: run under QEMU virt,iommu=smmuv3",
			   IOMMU_KUNIT_COMPATIBLE);
	}
	of_node_put_kunit(test, np);
	return np->phandle;
}
EXPORT_SYMBOL_GPL(iommu_kunit_phandle);

/**
 * iommu_kunit_phandle_node() - add a node that other nodes can point at
 * @test: test context; the node goes when the test ends
 * @absent_iommu: make it look like an IOMMU that is not there
 *	(#iommu-cells = <1>, status = "disabled"); otherwise it is a bare
 *	node that is no IOMMU at all
 *
 * Return: the phandle of the node, one no other node has.
 */
u32 iommu_kunit_phandle_node(struct kunit *test, bool absent_iommu)
{
	u32 phandle = 0xc7b00000;
	struct of_changeset *ocs;
	struct device_node *np;
	char name[32];

	while ((np = of_find_node_by_phandle(phandle))) {
		of_node_put(np);
		phandle++;
	}

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	snprintf(name, sizeof(name), "kunit-phandle-%x", phandle);
	np = of_changeset_create_node(ocs, of_root, name);
	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, np, "phandle", phandle));
	if (absent_iommu) {
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, np, "#iommu-cells", 1));
		KUNIT_ASSERT_EQ(test, 0,
				of_changeset_add_prop_string(ocs, np, "status", "disabled"));
	}
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));
	/*
	 * The OF core reads "phandle" when it attaches a node, and a changeset
	 * attaches the node before it adds the node's properties: set it as an
	 * attach with the property would have.
	 */
	np->phandle = phandle;
	KUNIT_ASSERT_PTR_EQ(test, of_find_node_by_phandle(phandle), np);
	of_node_put(np);
	return phandle;
}
EXPORT_SYMBOL_GPL(iommu_kunit_phandle_node);

/**
 * iommu_kunit_absent_phandle() - phandle of an IOMMU that is not there
 * @test: test context; the node goes when the test ends
 *
 * Adds a disabled node that looks like an IOMMU (#iommu-cells = <1>). A
 * device behind it is behind no IOMMU, which of_iommu_xlate() reports at
 * once as -ENODEV; an enabled node without a driver would defer instead,
 * or not, depending on CONFIG_MODULES and the deferred-probe timeout.
 *
 * Return: the phandle of the node, one no other node has.
 */
u32 iommu_kunit_absent_phandle(struct kunit *test)
{
	return iommu_kunit_phandle_node(test, true);
}
EXPORT_SYMBOL_GPL(iommu_kunit_absent_phandle);

/**
 * iommu_kunit_count_reserved() - count reserved regions of a device's group
 * @test: test context; fails if @dev is in no group
 * @dev: the device
 * @start: first IOVA of the range
 * @last: last IOVA of the range
 * @exact: count only regions that are exactly [@start, @last]; otherwise
 *	every region that overlaps it
 *
 * Return: how many IOMMU_RESV_RESERVED regions of @dev's IOMMU group, as
 * /sys/kernel/iommu_groups/N/reserved_regions lists them, match.
 */
unsigned int iommu_kunit_count_reserved(struct kunit *test, struct device *dev,
					u64 start, u64 last, bool exact)
{
	struct iommu_resv_region *region, *next;
	struct iommu_group *group;
	unsigned int n = 0;
	LIST_HEAD(list);

	group = iommu_group_get(dev);
	KUNIT_ASSERT_NOT_NULL(test, group);
	KUNIT_EXPECT_EQ(test, 0, iommu_get_group_resv_regions(group, &list));
	iommu_group_put(group);
	list_for_each_entry_safe(region, next, &list, list) {
		u64 rlast = region->start + region->length - 1;

		if (region->type == IOMMU_RESV_RESERVED &&
		    (exact ? region->start == start && rlast == last :
			     region->start <= last && rlast >= start))
			n++;
		kfree(region);
	}
	return n;
}
EXPORT_SYMBOL_GPL(iommu_kunit_count_reserved);

static void iommu_kunit_restore_translated(void *unused)
{
	iommu_set_default_translated(false);
}

/**
 * iommu_kunit_default_passthrough() - give new IOMMU groups identity domains
 * @test: test context; the default goes back to translated when it ends
 *
 * What iommu.passthrough=1 does for a whole boot: the groups made from now
 * on get an identity (passthrough) default domain. The test is skipped
 * where the default could not be put back as it was: if it is passthrough
 * already, or lazy (DMA_FQ) translation.
 */
void iommu_kunit_default_passthrough(struct kunit *test)
{
	if (iommu_default_passthrough() || !IS_ENABLED(CONFIG_IOMMU_DEFAULT_DMA_STRICT))
		kunit_skip(test, "the default domain is not strict translation");
	iommu_set_default_passthrough(false);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, iommu_kunit_restore_translated, NULL));
}
EXPORT_SYMBOL_GPL(iommu_kunit_default_passthrough);

static void iommu_kunit_undo_fill(void *data)
{
	struct iommu_kunit_fill *fill = data;

	while (fill->count) {
		fill->count--;
		dma_unmap_page_attrs(fill->dev, fill->iova[fill->count], SZ_1M,
				     DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC);
	}
	__free_pages(fill->buf, get_order(SZ_1M));
}

/**
 * iommu_kunit_fill_iova() - fill a device's IOVA space with 1 MiB mappings
 * @test: test context; the mappings are undone when the test ends
 * @dev: a device behind an IOMMU, with a DMA domain
 * @cap: the most mappings to make, so that a space larger than expected
 *	cannot run on for ever
 *
 * Maps one 1 MiB buffer again and again, until the DMA API refuses or @cap
 * mappings are made. IOVA allocation is top-down, so only a full space
 * shows what is reserved at its bottom. The mappings allow DMA both ways,
 * every IOVA to the same buffer, @buf; the CPU cache maintenance is
 * skipped, so only a DMA-coherent device may be made to do DMA through
 * them.
 *
 * Return: the mappings made, with their lowest and highest IOVA.
 */
struct iommu_kunit_fill *iommu_kunit_fill_iova(struct kunit *test, struct device *dev,
					       unsigned int cap)
{
	struct iommu_kunit_fill *fill;
	dma_addr_t iova;

	fill = kunit_kzalloc(test, struct_size(fill, iova, cap), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fill);
	fill->dev = dev;
	fill->lowest = DMA_MAPPING_ERROR;
	fill->buf = alloc_pages(GFP_KERNEL, get_order(SZ_1M));
	KUNIT_ASSERT_NOT_NULL(test, fill->buf);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, iommu_kunit_undo_fill, fill));

	while (fill->count < cap) {
		iova = dma_map_page_attrs(dev, fill->buf, 0, SZ_1M, DMA_BIDIRECTIONAL,
					  DMA_ATTR_SKIP_CPU_SYNC);
		if (dma_mapping_error(dev, iova))
			break;
		fill->iova[fill->count++] = iova;
		fill->lowest = min(fill->lowest, iova);
		fill->highest = max(fill->highest, iova);
	}
	return fill;
}
EXPORT_SYMBOL_GPL(iommu_kunit_fill_iova);

/**
 * iommu_kunit_fill_release() - give back the last mappings of a fill
 * @test: test context
 * @fill: the mappings of iommu_kunit_fill_iova()
 * @n: how many to unmap, from the last made (the lowest IOVAs)
 *
 * Leaves room for other mappings of the device in a space that was full.
 */
void iommu_kunit_fill_release(struct kunit *test, struct iommu_kunit_fill *fill,
			      unsigned int n)
{
	unsigned int i;

	KUNIT_ASSERT_LE(test, n, fill->count);
	while (n--) {
		fill->count--;
		dma_unmap_page_attrs(fill->dev, fill->iova[fill->count], SZ_1M,
				     DMA_BIDIRECTIONAL, DMA_ATTR_SKIP_CPU_SYNC);
	}
	fill->lowest = DMA_MAPPING_ERROR;
	fill->highest = 0;
	for (i = 0; i < fill->count; i++) {
		fill->lowest = min(fill->lowest, fill->iova[i]);
		fill->highest = max(fill->highest, fill->iova[i]);
	}
}
EXPORT_SYMBOL_GPL(iommu_kunit_fill_release);

/**
 * iommu_kunit_unfill() - undo iommu_kunit_fill_iova() before the test ends
 * @test: test context
 * @fill: the mappings, unmapped here rather than when the test ends
 *
 * For a test that removes the device before it ends.
 */
void iommu_kunit_unfill(struct kunit *test, struct iommu_kunit_fill *fill)
{
	kunit_release_action(test, iommu_kunit_undo_fill, fill);
}
EXPORT_SYMBOL_GPL(iommu_kunit_unfill);

MODULE_DESCRIPTION("Test managed IOMMU helpers");
MODULE_LICENSE("GPL");
