// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the iris VPU stub (rust_iris_vpu_stub.rs): bound to a node
 * built at run time, in either device-tree model, it creates three context
 * banks with the iris windows, and unbinding it destroys them.
 *
 * Run under QEMU virt with an SMMUv3
 * (tools/testing/kunit/qemu_configs/arm64_smmuv3.py).
 */

#include <kunit/iommu.h>
#include <kunit/of.h>
#include <kunit/qemu_edu.h>
#include <kunit/test.h>
#include <linux/context_bus.h>
#include <linux/device.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/minmax.h>
#include <linux/of.h>
#include <linux/of_platform.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>

#define STUB_COMPATIBLE "test,iris-vpu-stub"
#define STUB_BANKS 3

/* Stream IDs of the stubs: 0x600-0x602, 0x610-0x612 and 0x620-0x622. */
#define STUB_SID_MAP 0x600
#define STUB_SID_NODES 0x610
#define STUB_SID_RANGES 0x620

static const struct {
	u64 start, end;
} stub_windows[STUB_BANKS] = {
	{ 600 * (u64)SZ_1M, 3500 * (u64)SZ_1M },
	{ 0, 3500 * (u64)SZ_1M },
	{ 16 * (u64)SZ_1M, 600 * (u64)SZ_1M },
};

struct stub_banks {
	struct device *parent;
	struct device *bank[STUB_BANKS];
	unsigned int count;
};

static int collect_bank(struct device *dev, void *data)
{
	struct stub_banks *banks = data;

	if (dev->parent == banks->parent && banks->count < STUB_BANKS)
		banks->bank[banks->count] = dev;
	if (dev->parent == banks->parent)
		banks->count++;
	return 0;
}

/* The context devices whose parent is @parent. */
static void find_banks(struct device *parent, struct stub_banks *banks)
{
	memset(banks, 0, sizeof(*banks));
	banks->parent = parent;
	bus_for_each_dev(&context_device_bus_type, NULL, banks, collect_bank);
}

static void put_device_action(void *dev)
{
	put_device(dev);
}

/*
 * Adds the stub node @name, with an iommu-map or with child nodes giving
 * block N stream @sids[N], and returns its platform device, bound to the
 * stub by the time it is added.
 */
static struct device *add_stub(struct kunit *test, const char *name, bool map,
			       const u32 sids[STUB_BANKS], bool coherent, bool ranges)
{
	u32 phandle = iommu_kunit_phandle(test);
	struct platform_device *pdev;
	struct device_node *np, *child;
	struct of_changeset *ocs;
	char child_name[16];
	u32 cells[STUB_BANKS * 4];
	unsigned int i;
	int ret;

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	np = of_changeset_create_node(ocs, of_root, name);
	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_string(ocs, np, "compatible",
							      STUB_COMPATIBLE));
	if (map) {
		for (i = 0; i < STUB_BANKS; i++) {
			cells[i * 4] = i;
			cells[i * 4 + 1] = phandle;
			cells[i * 4 + 2] = sids[i];
			cells[i * 4 + 3] = 1;
		}
		ret = of_changeset_add_prop_u32_array(ocs, np, "iommu-map", cells,
						      ARRAY_SIZE(cells));
		KUNIT_ASSERT_EQ(test, ret, 0);
	} else {
		/* With iommu-ranges, a size cell for them: reg is <block 1>. */
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, np, "#address-cells", 1));
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, np, "#size-cells",
								   ranges ? 1 : 0));
		for (i = 0; i < STUB_BANKS; i++) {
			snprintf(child_name, sizeof(child_name), "bank@%u", i);
			child = of_changeset_create_node(ocs, np, child_name);
			KUNIT_ASSERT_NOT_NULL(test, child);
			of_node_put_kunit(test, child);
			cells[0] = i;
			cells[1] = 1;
			ret = of_changeset_add_prop_u32_array(ocs, child, "reg", cells,
							      ranges ? 2 : 1);
			KUNIT_ASSERT_EQ(test, ret, 0);
			cells[0] = phandle;
			cells[1] = sids[i];
			ret = of_changeset_add_prop_u32_array(ocs, child, "iommus", cells, 2);
			KUNIT_ASSERT_EQ(test, ret, 0);
			if (!ranges)
				continue;
			cells[0] = stub_windows[i].start;
			cells[1] = stub_windows[i].end - stub_windows[i].start;
			ret = of_changeset_add_prop_u32_array(ocs, child, "iommu-ranges", cells, 2);
			KUNIT_ASSERT_EQ(test, ret, 0);
		}
	}
	if (coherent)
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_bool(ocs, np, "dma-coherent"));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));

	pdev = of_find_device_by_node(np);
	KUNIT_ASSERT_NOT_NULL(test, pdev);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, put_device_action, &pdev->dev));
	KUNIT_ASSERT_NOT_NULL_MSG(test, pdev->dev.driver, "the stub did not bind to %pOF", np);
	return &pdev->dev;
}

/* Bank N is named "<parent>:ctx.N"; returns N, or -1. */
static int bank_block(struct device *bank)
{
	const char *suffix = strrchr(dev_name(bank), '.');
	unsigned int n;

	if (!suffix || kstrtouint(suffix + 1, 10, &n) || n >= STUB_BANKS)
		return -1;
	return n;
}

/* Bank N has window N of iris, and a group of its own. */
static void expect_iris_banks(struct kunit *test, struct device *parent)
{
	struct iommu_group *groups[STUB_BANKS] = {};
	struct stub_banks banks;
	unsigned int i, n;

	find_banks(parent, &banks);
	KUNIT_ASSERT_EQ(test, banks.count, STUB_BANKS);
	for (i = 0; i < STUB_BANKS; i++) {
		struct device *bank = banks.bank[i];
		int block = bank_block(bank);

		KUNIT_ASSERT_GE_MSG(test, block, 0, "unexpected bank %s", dev_name(bank));
		n = block;
		/* The window: all IOVA around it reserved, none of it. */
		if (stub_windows[n].start)
			KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, bank, 0,
									 stub_windows[n].start - 1,
									 true), 1);
		KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, bank, stub_windows[n].end,
								 U64_MAX, true), 1);
		KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, bank, stub_windows[n].start,
								 stub_windows[n].end - 1, false),
				0);
		/* Nothing hung on the range map, which is the memory side's. */
		KUNIT_EXPECT_NULL(test, bank->dma_range_map);
		KUNIT_EXPECT_TRUE(test, device_iommu_mapped(bank));
		KUNIT_EXPECT_NULL(test, groups[n]);
		groups[n] = bank->iommu_group;
	}
	KUNIT_EXPECT_PTR_NE(test, groups[0], groups[1]);
	KUNIT_EXPECT_PTR_NE(test, groups[0], groups[2]);
	KUNIT_EXPECT_PTR_NE(test, groups[1], groups[2]);
}

/*
 * Block 0 must never get an IOVA below 600 MB: fill its space with 1 MiB
 * mappings (allocation is top-down, so only a full space shows the bottom)
 * and check the lowest one.
 */
static void expect_block0_lower_hole(struct kunit *test, struct device *parent)
{
	struct iommu_kunit_fill *fill;
	struct stub_banks banks;
	struct device *bank0 = NULL;
	unsigned int i;

	find_banks(parent, &banks);
	for (i = 0; i < banks.count && i < STUB_BANKS; i++)
		if (bank_block(banks.bank[i]) == 0)
			bank0 = banks.bank[i];
	KUNIT_ASSERT_NOT_NULL(test, bank0);

	fill = iommu_kunit_fill_iova(test, bank0, 3500);
	kunit_info(test, "block 0: %u maps of 1 MiB, lowest IOVA %pad\n", fill->count,
		   &fill->lowest);
	KUNIT_EXPECT_EQ(test, fill->lowest, 600 * (u64)SZ_1M);
	KUNIT_EXPECT_EQ(test, fill->count, 2900);
	/* The mappings go before the bank can. */
	iommu_kunit_unfill(test, fill);
}

/* Unbinding the stub destroys its banks. */
static void expect_unbind_destroys(struct kunit *test, struct device *parent)
{
	struct stub_banks banks;

	device_release_driver(parent);
	find_banks(parent, &banks);
	KUNIT_EXPECT_EQ(test, banks.count, 0);
}

static void iris_stub_iommu_map(struct kunit *test)
{
	const u32 sids[] = { STUB_SID_MAP, STUB_SID_MAP + 1, STUB_SID_MAP + 2 };
	struct device *parent = add_stub(test, "iris-vpu-stub-map", true, sids, false, false);

	expect_iris_banks(test, parent);
	expect_block0_lower_hole(test, parent);
	expect_unbind_destroys(test, parent);
}

static void iris_stub_child_nodes(struct kunit *test)
{
	const u32 sids[] = { STUB_SID_NODES, STUB_SID_NODES + 1, STUB_SID_NODES + 2 };
	struct device *parent = add_stub(test, "iris-vpu-stub-nodes", false, sids, false, false);

	expect_iris_banks(test, parent);
	expect_block0_lower_hole(test, parent);
	expect_unbind_destroys(test, parent);
}

/*
 * Real DMA by QEMU's edu devices, one for each block's stream. Each bank's
 * space is filled with 1 MiB mappings of one buffer, as many as would fill
 * the whole DMA mask, so that a window that did not hold would map the
 * IOVAs just outside it too; the lowest is given back as room for the
 * edu's staging. Then the last page inside the window reaches the buffer,
 * and the page just below the window (just above it for block 1, whose
 * window starts at 0) faults in the SMMU. `make run` runs this suite at
 * boot and shows its lines.
 */
static void iris_stub_dma_windows(struct kunit *test)
{
	const struct qemu_edu *edus[STUB_BANKS];
	struct stub_banks banks;
	struct device *parent;
	u32 sids[STUB_BANKS];
	unsigned int i;

	for (i = 0; i < STUB_BANKS; i++) {
		edus[i] = qemu_edu_kunit_get(test, i);
		sids[i] = edus[i]->sid;
	}
	parent = add_stub(test, "iris-vpu-stub-dma", true, sids, true, false);
	find_banks(parent, &banks);
	KUNIT_ASSERT_EQ(test, banks.count, STUB_BANKS);

	for (i = 0; i < STUB_BANKS; i++) {
		struct device *bank = banks.bank[i];
		int block = bank_block(bank);
		struct iommu_kunit_fill *fill;
		struct qemu_edu_reach in, out;
		const struct qemu_edu *edu;
		u64 start, end, inside, outside;
		void *buf;

		KUNIT_ASSERT_GE(test, block, 0);
		edu = edus[block];
		start = stub_windows[block].start;
		end = stub_windows[block].end;
		fill = iommu_kunit_fill_iova(test, bank, (DMA_BIT_MASK(32) >> 20) + 16);
		KUNIT_EXPECT_EQ(test, (u64)fill->highest + SZ_1M, end);
		KUNIT_EXPECT_EQ(test, (u64)fill->lowest, max_t(u64, start, SZ_1M));
		iommu_kunit_fill_release(test, fill, 1);
		buf = page_address(fill->buf);

		inside = fill->highest + SZ_1M - PAGE_SIZE;
		outside = start ? start - PAGE_SIZE : end;
		in = qemu_edu_kunit_reach(test, edu, bank, inside, buf + SZ_1M - PAGE_SIZE,
					  QEMU_EDU_DMA_MAX);
		/* One word: one fault, which arm-smmu-v3's rate limit lets through. */
		out = qemu_edu_kunit_reach(test, edu, bank, outside,
					   buf + (outside & (SZ_1M - 1)), sizeof(u32));
		kunit_info(test,
			   "iris-dma: %s stream %#x window %lluM-%lluM, filled: DMA at %#llx (in the window) %s, at %#llx (%s it) %s\n",
			   dev_name(bank), edu->sid, start / SZ_1M, end / SZ_1M, inside,
			   in.read && in.write ? "lands" : "FAULTS", outside,
			   start ? "below" : "above",
			   out.read || out.write ? "LANDS" : "faults");
		KUNIT_EXPECT_TRUE(test, in.read && in.write);
		KUNIT_EXPECT_FALSE(test, out.read || out.write);
	}
}

/*
 * Child nodes whose iommu-ranges give the windows: the stub passes none in
 * code, and the IOMMU core reserves what lies outside each bank's ranges.
 */
static void iris_stub_child_nodes_iommu_ranges(struct kunit *test)
{
	const u32 sids[] = { STUB_SID_RANGES, STUB_SID_RANGES + 1, STUB_SID_RANGES + 2 };
	struct device *parent = add_stub(test, "iris-vpu-stub-ranges", false, sids, false, true);
	struct stub_banks banks;
	unsigned int i;

	find_banks(parent, &banks);
	KUNIT_ASSERT_EQ(test, banks.count, STUB_BANKS);
	for (i = 0; i < STUB_BANKS; i++) {
		struct device *bank = banks.bank[i];
		int block = bank_block(bank);
		u64 start, end;

		KUNIT_ASSERT_GE_MSG(test, block, 0, "unexpected bank %s", dev_name(bank));
		start = stub_windows[block].start;
		end = stub_windows[block].end;
		KUNIT_EXPECT_TRUE(test, device_iommu_mapped(bank));
		KUNIT_EXPECT_NULL(test, bank->dma_range_map);
		if (start)
			KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, bank, 0, start - 1,
									 true), 1);
		KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, bank, end, U64_MAX, true),
				1);
		KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, bank, start, end - 1, false),
				0);
	}
	expect_block0_lower_hole(test, parent);
	expect_unbind_destroys(test, parent);
}

static struct kunit_case iris_stub_test_cases[] = {
	KUNIT_CASE(iris_stub_iommu_map),
	KUNIT_CASE(iris_stub_child_nodes),
	KUNIT_CASE(iris_stub_child_nodes_iommu_ranges),
	{}
};

static struct kunit_suite iris_stub_test_suite = {
	.name = "rust_iris_vpu_stub",
	.test_cases = iris_stub_test_cases,
};

/* A suite of its own, so that `make run` can run it alone at boot. */
static struct kunit_case iris_stub_dma_test_cases[] = {
	KUNIT_CASE(iris_stub_dma_windows),
	{}
};

static struct kunit_suite iris_stub_dma_test_suite = {
	.name = "rust_iris_vpu_stub_dma",
	.test_cases = iris_stub_dma_test_cases,
};

kunit_test_suites(&iris_stub_test_suite, &iris_stub_dma_test_suite);

MODULE_DESCRIPTION("KUnit tests of the iris VPU stub");
MODULE_LICENSE("GPL");
