// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of "iommu-ranges": of_iommu_get_ranges() reads it or refuses
 * it with its errno, and a device whose node has it gets every other IOVA
 * reserved: the IOMMU core reports the gaps as reserved regions, the DMA
 * API hands out IOVAs from the ranges only, and with QEMU's edu devices
 * (<kunit/qemu_edu.h>), DMA into a gap faults.
 *
 * The reading needs no IOMMU; the rest runs under QEMU virt,iommu=smmuv3
 * (tools/testing/kunit/qemu_configs/arm64_smmuv3.py) and skips elsewhere.
 */

#include <kunit/device.h>
#include <kunit/iommu.h>
#include <kunit/of.h>
#include <kunit/qemu_edu.h>
#include <kunit/test.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/of.h>
#include <linux/of_iommu.h>
#include <linux/of_platform.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>

#include "iommu-priv.h"

#define RANGES_SID	0x110	/* the stream of the case without DMA */
#define MIB(n)		((u64)(n) * SZ_1M)

/* Two ranges, high one first: 768M-1024M and 256M-384M; the gap between. */
static const u32 ranges_two[] = {
	0, 0x30000000, 0, 0x10000000,
	0, 0x10000000, 0, 0x08000000,
};

/* Add @name under @parent to @ocs, with "iommu-ranges" = @cells if not NULL. */
static struct device_node *ranges_node(struct kunit *test, struct of_changeset *ocs,
				       struct device_node *parent, const char *name,
				       const u32 *cells, size_t n)
{
	struct device_node *np = of_changeset_create_node(ocs, parent, name);

	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	if (cells)
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, np, "iommu-ranges",
									 cells, n));
	return np;
}

/* Add @name below the root, a node of no bus whose children count in 2 + 2 cells. */
static struct device_node *ranges_box(struct kunit *test, struct of_changeset *ocs,
				      const char *name)
{
	struct device_node *box = ranges_node(test, ocs, of_root, name, NULL, 0);

	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, box, "#address-cells", 2));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, box, "#size-cells", 2));
	return box;
}

struct ranges_bad {
	const char *name;
	u32 address_cells, size_cells;
	u32 cells[8];
	size_t n;
	int err;
	bool no_cells;	/* the parent gives neither #address-cells nor #size-cells */
};

static const struct ranges_bad ranges_bad[] = {
	{ "not a whole entry", 1, 1, { 0x1000, 0x1000, 0x3000 }, 3, -EINVAL },
	{ "empty property", 1, 1, {}, 0, -EINVAL },
	{ "zero size", 1, 1, { 0x1000, 0 }, 2, -EINVAL },
	{ "runs past 2^64", 2, 2, { 0xffffffff, 0xfffff000, 0, 0x2000 }, 4, -EOVERFLOW },
	{ "overlapping", 1, 1, { 0x10000, 0x10000, 0x18000, 0x10000 }, 4, -EINVAL },
	{ "no size cells", 1, 0, { 0x1000, 0x2000 }, 2, -EINVAL },
	{ "three address cells", 3, 1, { 0, 0, 0x1000, 0x1000 }, 4, -EINVAL },
	{ "parent without cells", 0, 0, { 0x1000, 0x1000 }, 2, -EINVAL, true },
};

KUNIT_ARRAY_PARAM_DESC(ranges_bad, ranges_bad, name);

/* Each malformed "iommu-ranges" is refused with its errno. */
static void of_iommu_ranges_refused(struct kunit *test)
{
	const struct ranges_bad *bad = test->param_value;
	struct device_node *box, *np;
	struct of_changeset *ocs;

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	/* No platform device comes of a node below a node of no bus. */
	box = ranges_node(test, ocs, of_root, "iommu-ranges-kunit-bad", NULL, 0);
	if (!bad->no_cells) {
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, box, "#address-cells",
								   bad->address_cells));
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, box, "#size-cells",
								   bad->size_cells));
	}
	if (bad->n) {
		np = ranges_node(test, ocs, box, "dev", bad->cells, bad->n);
	} else {
		/* A property of no value, as a boolean is. */
		np = ranges_node(test, ocs, box, "dev", NULL, 0);
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_bool(ocs, np, "iommu-ranges"));
	}
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));

	KUNIT_EXPECT_EQ(test, of_iommu_get_ranges(np, NULL, 0), bad->err);
}

/* Two unsorted ranges are read sorted; no property is no range. */
static void of_iommu_ranges_read_sorted(struct kunit *test)
{
	struct of_iommu_range ranges[2];
	struct device_node *box, *np, *none;
	struct of_changeset *ocs;

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	box = ranges_box(test, ocs, "iommu-ranges-kunit-read");
	np = ranges_node(test, ocs, box, "dev", ranges_two, ARRAY_SIZE(ranges_two));
	none = ranges_node(test, ocs, box, "none", NULL, 0);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));

	KUNIT_EXPECT_EQ(test, of_iommu_get_ranges(np, NULL, 0), 2);
	KUNIT_ASSERT_EQ(test, of_iommu_get_ranges(np, ranges, ARRAY_SIZE(ranges)), 2);
	KUNIT_EXPECT_EQ(test, ranges[0].start, MIB(256));
	KUNIT_EXPECT_EQ(test, ranges[0].last, MIB(384) - 1);
	KUNIT_EXPECT_EQ(test, ranges[1].start, MIB(768));
	KUNIT_EXPECT_EQ(test, ranges[1].last, MIB(1024) - 1);
	KUNIT_EXPECT_EQ(test, of_iommu_get_ranges(np, ranges, 1), -E2BIG);
	KUNIT_EXPECT_EQ(test, of_iommu_get_ranges(none, NULL, 0), 0);
}

/*
 * Devices share an IOMMU group's IOVA space only with the same entries:
 * none on both, or the same cells in the same order; a malformed property
 * is never the same as another.
 */
static void of_iommu_ranges_same(struct kunit *test)
{
	static const u32 swapped[] = {
		0, 0x10000000, 0, 0x08000000,
		0, 0x30000000, 0, 0x10000000,
	};
	static const u32 bad[] = { 0, 0x10000000, 0, 0 };
	struct device_node *box, *a, *b, *c, *none, *worse, *worst;
	struct of_changeset *ocs;

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	box = ranges_box(test, ocs, "iommu-ranges-kunit-same");
	a = ranges_node(test, ocs, box, "a", ranges_two, ARRAY_SIZE(ranges_two));
	b = ranges_node(test, ocs, box, "b", ranges_two, ARRAY_SIZE(ranges_two));
	c = ranges_node(test, ocs, box, "c", swapped, ARRAY_SIZE(swapped));
	none = ranges_node(test, ocs, box, "none", NULL, 0);
	worse = ranges_node(test, ocs, box, "worse", bad, ARRAY_SIZE(bad));
	worst = ranges_node(test, ocs, box, "worst", bad, ARRAY_SIZE(bad));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));

	KUNIT_EXPECT_TRUE(test, of_iommu_same_ranges(a, b));
	KUNIT_EXPECT_FALSE(test, of_iommu_same_ranges(a, c));
	KUNIT_EXPECT_FALSE(test, of_iommu_same_ranges(a, none));
	KUNIT_EXPECT_FALSE(test, of_iommu_same_ranges(NULL, a));
	KUNIT_EXPECT_TRUE(test, of_iommu_same_ranges(none, NULL));
	KUNIT_EXPECT_FALSE(test, of_iommu_same_ranges(worse, worst));
}

/*
 * A reserved range becomes regions that phys_addr_t and size_t hold:
 * contiguous, from its first IOVA to its last (or the end of phys_addr_t
 * and dma_addr_t), never more than 16 of them.
 */
static void of_iommu_ranges_split_into_regions(struct kunit *test)
{
	static const struct {
		u64 first, last;
		unsigned int regions64;	/* with a 64-bit size_t */
	} split[] = {
		{ 0, U64_MAX, 2 },	/* 2^64 bytes: one more than size_t holds */
		{ MIB(3500), U64_MAX, 1 },
		{ 0, MIB(600) - 1, 1 },
		{ SZ_4K, 2 * SZ_4K - 1, 1 },
	};
	struct device *dev = kunit_device_register(test, "iommu-ranges-kunit-split");
	struct iommu_resv_region *region;
	unsigned int i, n;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	for (i = 0; i < ARRAY_SIZE(split); i++) {
		u64 top = min3(split[i].last, (u64)(phys_addr_t)~0, (u64)(dma_addr_t)~0);
		u64 next = split[i].first, last = 0;
		LIST_HEAD(list);
		int ret;

		ret = iommu_add_resv_range(dev, &list, split[i].first, split[i].last);
		KUNIT_ASSERT_EQ(test, ret, 0);
		n = 0;
		list_for_each_entry(region, &list, list) {
			KUNIT_EXPECT_EQ(test, region->type, IOMMU_RESV_RESERVED);
			KUNIT_EXPECT_EQ(test, (u64)region->start, next);
			KUNIT_EXPECT_NE(test, region->length, 0);
			last = region->start + (region->length - 1);
			next = last + 1;
			n++;
		}
		KUNIT_EXPECT_LE(test, n, 16);
		if (n < 16)
			KUNIT_EXPECT_EQ_MSG(test, last, top, "range %u", i);
		if (sizeof(size_t) == sizeof(u64))
			KUNIT_EXPECT_EQ_MSG(test, n, split[i].regions64, "range %u", i);
		iommu_put_resv_regions(dev, &list);
	}
}

static void ranges_put_device(void *dev)
{
	put_device(dev);
}

/*
 * Add /iommu-ranges-kunit@<sid> { iommus = <iommu sid>; iommu-ranges; }
 * below the root, whose cells are two and two on QEMU virt, and return the
 * platform device the OF core makes of it.
 */
static struct device *ranges_client(struct kunit *test, u32 iommu, u32 sid, bool coherent)
{
	const u32 iommus[] = { iommu, sid };
	struct platform_device *pdev;
	struct of_changeset *ocs;
	struct device_node *np;
	char name[32];

	KUNIT_ASSERT_EQ(test, of_n_addr_cells(of_root), 2);
	KUNIT_ASSERT_EQ(test, of_n_size_cells(of_root), 2);
	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	snprintf(name, sizeof(name), "iommu-ranges-kunit@%x", sid);
	np = ranges_node(test, ocs, of_root, name, ranges_two, ARRAY_SIZE(ranges_two));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, np, "iommus", iommus,
								 ARRAY_SIZE(iommus)));
	if (coherent)
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_bool(ocs, np, "dma-coherent"));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));

	pdev = of_find_device_by_node(np);
	KUNIT_ASSERT_NOT_NULL_MSG(test, pdev, "no platform device for %pOF", np);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ranges_put_device, &pdev->dev));
	KUNIT_ASSERT_TRUE_MSG(test, device_iommu_mapped(&pdev->dev), "%s is behind no IOMMU",
			      dev_name(&pdev->dev));
	return &pdev->dev;
}

/*
 * Fill the device's space with 1 MiB mappings, as many as would fill its
 * 32-bit DMA mask: they fill both ranges and nothing else.
 */
static struct iommu_kunit_fill *ranges_fill(struct kunit *test, struct device *dev)
{
	unsigned int i, low = 0, high = 0, outside = 0;
	struct iommu_kunit_fill *fill;

	KUNIT_ASSERT_EQ(test, dma_get_mask(dev), DMA_BIT_MASK(32));
	fill = iommu_kunit_fill_iova(test, dev, (DMA_BIT_MASK(32) >> 20) + 16);
	for (i = 0; i < fill->count; i++) {
		u64 iova = fill->iova[i];

		if (iova >= MIB(256) && iova + SZ_1M <= MIB(384))
			low++;
		else if (iova >= MIB(768) && iova + SZ_1M <= MIB(1024))
			high++;
		else
			outside++;
	}
	kunit_info(test, "%s: %u maps of 1 MiB: %u in 256M-384M, %u in 768M-1024M, %u outside, lowest %pad, highest %pad\n",
		   dev_name(dev), fill->count, low, high, outside, &fill->lowest, &fill->highest);
	KUNIT_EXPECT_EQ(test, low, 128);
	KUNIT_EXPECT_EQ(test, high, 256);
	KUNIT_EXPECT_EQ(test, outside, 0);
	return fill;
}

/* How many reserved regions of @dev's own list meet [@first, @last]. */
static unsigned int ranges_dev_reserved(struct device *dev, u64 first, u64 last)
{
	struct iommu_resv_region *region;
	unsigned int n = 0;
	LIST_HEAD(list);

	iommu_get_resv_regions(dev, &list);
	list_for_each_entry(region, &list, list)
		if (region->type == IOMMU_RESV_RESERVED && region->start <= last &&
		    region->start + (region->length - 1) >= first)
			n++;
	iommu_put_resv_regions(dev, &list);
	return n;
}

/*
 * A platform device with two ranges: its group shows the three gaps as
 * reserved regions, its own list has each once, and exhaustion fills both
 * ranges, never the gap.
 */
static void of_iommu_ranges_reserve_the_gaps(struct kunit *test)
{
	struct device *dev = ranges_client(test, iommu_kunit_phandle(test), RANGES_SID, false);

	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, dev, 0, MIB(256) - 1, true), 1);
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, dev, MIB(384), MIB(768) - 1, true),
			1);
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, dev, MIB(1024), U64_MAX, true), 1);
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, dev, MIB(256), MIB(384) - 1, false),
			0);
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, dev, MIB(768), MIB(1024) - 1, false),
			0);
	KUNIT_EXPECT_EQ(test, ranges_dev_reserved(dev, MIB(384), MIB(768) - 1), 1);
	ranges_fill(test, dev);
}

/*
 * Where new groups get identity domains, as with iommu.passthrough=1, a
 * device with iommu-ranges gets a DMA domain all the same: only
 * translation keeps it inside its ranges.
 */
static void of_iommu_ranges_never_passthrough(struct kunit *test)
{
	struct device *dev;

	iommu_kunit_default_passthrough(test);
	dev = ranges_client(test, iommu_kunit_phandle(test), RANGES_SID, false);
	KUNIT_EXPECT_TRUE(test, iommu_is_dma_domain(iommu_get_domain_for_dev(dev)));
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, dev, MIB(384), MIB(768) - 1, true),
			1);
}

/*
 * The same with real DMA, on an edu device's stream: the last page of the
 * high range is reached, the first page of the gap and the page above the
 * high range fault.
 */
static void of_iommu_ranges_dma_into_the_gap_faults(struct kunit *test)
{
	const struct qemu_edu *edu = qemu_edu_kunit_get(test, 0);
	struct device *dev = ranges_client(test, edu->iommu, edu->sid, true);
	struct iommu_kunit_fill *fill = ranges_fill(test, dev);
	struct qemu_edu_reach reach;
	void *buf;

	/* Room for the edu's staging: the lowest 1 MiB of the low range. */
	iommu_kunit_fill_release(test, fill, 1);
	buf = page_address(fill->buf);

	reach = qemu_edu_kunit_reach(test, edu, dev, MIB(1024) - PAGE_SIZE,
				     buf + SZ_1M - PAGE_SIZE, QEMU_EDU_DMA_MAX);
	KUNIT_EXPECT_TRUE(test, reach.read && reach.write);
	reach = qemu_edu_kunit_reach(test, edu, dev, MIB(384), buf, sizeof(u32));
	KUNIT_EXPECT_FALSE(test, reach.read || reach.write);
	reach = qemu_edu_kunit_reach(test, edu, dev, MIB(1024), buf, sizeof(u32));
	KUNIT_EXPECT_FALSE(test, reach.read || reach.write);
}

static struct kunit_case of_iommu_ranges_test_cases[] = {
	KUNIT_CASE_PARAM(of_iommu_ranges_refused, ranges_bad_gen_params),
	KUNIT_CASE(of_iommu_ranges_read_sorted),
	KUNIT_CASE(of_iommu_ranges_same),
	KUNIT_CASE(of_iommu_ranges_split_into_regions),
	KUNIT_CASE(of_iommu_ranges_never_passthrough),
	KUNIT_CASE(of_iommu_ranges_reserve_the_gaps),
	KUNIT_CASE(of_iommu_ranges_dma_into_the_gap_faults),
	{}
};

static struct kunit_suite of_iommu_ranges_test_suite = {
	.name = "of_iommu_ranges",
	.test_cases = of_iommu_ranges_test_cases,
};

kunit_test_suite(of_iommu_ranges_test_suite);

MODULE_DESCRIPTION("KUnit tests of iommu-ranges");
MODULE_LICENSE("GPL");
