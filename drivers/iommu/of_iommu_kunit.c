// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests proving that the machine under test has a working IOMMU
 * described in the device tree: the "arm,smmu-v3" node exists, its driver
 * is bound, and a device created at run time from a node with "iommus"
 * gets its own IOMMU group and a DMA domain that really translates.
 *
 * Every IOMMU test of the context device bus stands on these facts; run
 * them under QEMU with tools/testing/kunit/qemu_configs/arm64_smmuv3.py.
 */

#include <kunit/iommu.h>
#include <kunit/of.h>
#include <kunit/test.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/of.h>
#include <linux/of_platform.h>
#include <linux/platform_device.h>
#include <linux/sizes.h>
#include <linux/slab.h>

/* Stream IDs past the PCI requester IDs of QEMU virt's root bus. */
#define TEST_SID_A 0x100
#define TEST_SID_B 0x101
#define TEST_SID_NO_RANGES 0x103
#define TEST_SID_OFFSET 0x104

static struct device_node *find_smmu(struct kunit *test)
{
	struct device_node *smmu = of_find_node_by_phandle(iommu_kunit_phandle(test));

	KUNIT_ASSERT_NOT_NULL(test, smmu);
	of_node_put_kunit(test, smmu);
	return smmu;
}

/* Adds iommus = <&smmu sid> to @np. */
static void add_iommus(struct kunit *test, struct of_changeset *ocs,
		       struct device_node *np, u32 sid)
{
	u32 iommus[2] = { iommu_kunit_phandle(test), sid };
	int ret;

	ret = of_changeset_add_prop_u32_array(ocs, np, "iommus", iommus, ARRAY_SIZE(iommus));
	KUNIT_ASSERT_EQ(test, ret, 0);
}

static void put_device_action(void *dev)
{
	put_device(dev);
}

/*
 * Add the node /iommu-kunit@<sid> { iommus = <&smmu sid>; } for the rest of
 * the test and return the platform device the OF core creates for it.
 */
static struct device *add_iommu_client(struct kunit *test, u32 sid)
{
	struct platform_device *pdev;
	struct of_changeset *ocs;
	struct device_node *np;
	char name[32];

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	snprintf(name, sizeof(name), "iommu-kunit@%x", sid);
	np = of_changeset_create_node(ocs, of_root, name);
	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	add_iommus(test, ocs, np, sid);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));

	pdev = of_find_device_by_node(np);
	KUNIT_ASSERT_NOT_NULL_MSG(test, pdev, "no platform device for %pOF", np);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, put_device_action, &pdev->dev));
	return &pdev->dev;
}

static void of_iommu_smmu_node_present(struct kunit *test)
{
	struct device_node *smmu = find_smmu(test);

	KUNIT_EXPECT_TRUE(test, of_device_is_available(smmu));
	KUNIT_EXPECT_NE(test, smmu->phandle, 0);
	KUNIT_EXPECT_TRUE(test, of_property_present(smmu, "#iommu-cells"));
}

static void of_iommu_smmu_driver_bound(struct kunit *test)
{
	struct platform_device *pdev;

	pdev = of_find_device_by_node(find_smmu(test));
	KUNIT_ASSERT_NOT_NULL(test, pdev);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, put_device_action, &pdev->dev));
	KUNIT_ASSERT_NOT_NULL_MSG(test, pdev->dev.driver, "%s is not bound",
				  dev_name(&pdev->dev));
	KUNIT_EXPECT_STREQ(test, pdev->dev.driver->name, "arm-smmu-v3");
}

static void of_iommu_runtime_node_gets_dma_domain(struct kunit *test)
{
	struct device *dev = add_iommu_client(test, TEST_SID_A);
	struct iommu_domain *domain;
	dma_addr_t iova;
	void *buf;

	KUNIT_ASSERT_TRUE_MSG(test, device_iommu_mapped(dev),
			      "%s joined no IOMMU group", dev_name(dev));
	domain = iommu_get_domain_for_dev(dev);
	KUNIT_ASSERT_NOT_NULL(test, domain);
	KUNIT_EXPECT_TRUE(test, domain->type & __IOMMU_DOMAIN_DMA_API);

	/* A mapping through the DMA API must land in the IOMMU page table. */
	buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	iova = dma_map_single(dev, buf, PAGE_SIZE, DMA_TO_DEVICE);
	KUNIT_ASSERT_FALSE(test, dma_mapping_error(dev, iova));
	KUNIT_EXPECT_EQ(test, iommu_iova_to_phys(domain, iova), virt_to_phys(buf));
	dma_unmap_single(dev, iova, PAGE_SIZE, DMA_TO_DEVICE);
	KUNIT_EXPECT_EQ(test, iommu_iova_to_phys(domain, iova), 0);
}

static void of_iommu_distinct_streams_are_isolated(struct kunit *test)
{
	struct device *a = add_iommu_client(test, TEST_SID_A);
	struct device *b = add_iommu_client(test, TEST_SID_B);
	struct iommu_group *ga, *gb;

	ga = iommu_group_get(a);
	gb = iommu_group_get(b);
	KUNIT_EXPECT_NOT_NULL(test, ga);
	KUNIT_EXPECT_NOT_NULL(test, gb);
	KUNIT_EXPECT_PTR_NE(test, ga, gb);
	KUNIT_EXPECT_PTR_NE(test, iommu_get_domain_for_dev(a),
			    iommu_get_domain_for_dev(b));
	iommu_group_put(ga);
	iommu_group_put(gb);
}

static void platform_device_put_action(void *pdev)
{
	platform_device_put(pdev);
}

static void platform_device_del_action(void *pdev)
{
	platform_device_del(pdev);
}

/* One region of a dma_range_map: DMA [dma, dma + size) reaches CPU [cpu, cpu + size). */
struct test_region {
	u64 cpu, dma, size;
};

/*
 * A platform device behind the SMMU on stream @sid whose dma_range_map is
 * @regions, as "dma-ranges" would set it before the IOMMU core probes the
 * device.
 */
static struct device *add_ranged_client(struct kunit *test, u32 sid,
					const struct test_region *regions, unsigned int n)
{
	struct platform_device *pdev;
	struct device_node *holder, *np;
	struct bus_dma_region *map;
	struct of_changeset *ocs;
	char name[32];
	unsigned int i;

	/* A node below a plain node, so that no platform device is made for it. */
	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	snprintf(name, sizeof(name), "iommu-kunit-ranges-%x", sid);
	holder = of_changeset_create_node(ocs, of_root, name);
	KUNIT_ASSERT_NOT_NULL(test, holder);
	of_node_put_kunit(test, holder);
	np = of_changeset_create_node(ocs, holder, "client");
	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	add_iommus(test, ocs, np, sid);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));

	/* The OF core names its platform device for @holder after the node. */
	snprintf(name, sizeof(name), "iommu-kunit-client-%x", sid);
	pdev = platform_device_alloc(name, PLATFORM_DEVID_NONE);
	KUNIT_ASSERT_NOT_NULL(test, pdev);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, platform_device_put_action, pdev));
	device_set_node(&pdev->dev, of_fwnode_handle(of_node_get(np)));

	/* Freed by the driver core with the device. */
	map = kcalloc(n + 1, sizeof(*map), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, map);
	for (i = 0; i < n; i++) {
		map[i].cpu_start = regions[i].cpu;
		map[i].dma_start = regions[i].dma;
		map[i].size = regions[i].size;
		pdev->dev.bus_dma_limit = max(pdev->dev.bus_dma_limit,
					      regions[i].dma + regions[i].size - 1);
	}
	pdev->dev.dma_range_map = map;

	KUNIT_ASSERT_EQ(test, 0, platform_device_add(pdev));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, platform_device_del_action, pdev));
	KUNIT_ASSERT_TRUE(test, device_iommu_mapped(&pdev->dev));
	return &pdev->dev;
}

/*
 * A device whose dma_range_map comes from an offset "dma-ranges" keeps the
 * IOVA space it always had: the map describes the memory side, and
 * confines no IOVA. The map
 * is shaped like MT8186's video codec: dma-ranges = <0x1 0x0 0x0 0x40000000
 * 0x0 0xfff00000>, DMA [4G, 8G - 1M) reaching CPU [1G, 5G - 1M). IOVAs go
 * top-down from bus_dma_limit and, once [4G, 8G - 1M) is full, below 4G.
 */
static void of_iommu_offset_dma_ranges_unchanged(struct kunit *test)
{
	static const struct test_region mt8186_vcodec[] = {
		{ 0x40000000, 0x100000000, 0xfff00000 },
	};
	const unsigned int above = mt8186_vcodec[0].size / SZ_1M, cap = above + 64;
	struct iommu_kunit_fill *fill;
	struct device *dev;

	dev = add_ranged_client(test, TEST_SID_OFFSET, mt8186_vcodec,
				ARRAY_SIZE(mt8186_vcodec));
	KUNIT_ASSERT_EQ(test, 0, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(33)));

	fill = iommu_kunit_fill_iova(test, dev, cap);
	kunit_info(test, "%u maps of 1 MiB, highest %pad, lowest %pad\n",
		   fill->count, &fill->highest, &fill->lowest);
	KUNIT_EXPECT_EQ(test, fill->highest + SZ_1M - 1, dev->bus_dma_limit);
	KUNIT_EXPECT_EQ(test, fill->count, cap);
	KUNIT_EXPECT_LT(test, fill->lowest, SZ_4G);
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, dev, 0, SZ_4G - 1, false), 0);
}

/* Without a dma_range_map the whole range of the DMA mask is handed out. */
static void of_iommu_no_dma_range_map_unchanged(struct kunit *test)
{
	struct device *dev = add_iommu_client(test, TEST_SID_NO_RANGES);
	const u64 top = SZ_256M;
	struct iommu_kunit_fill *fill;

	KUNIT_ASSERT_NULL(test, dev->dma_range_map);
	KUNIT_ASSERT_EQ(test, 0, dma_set_mask_and_coherent(dev, top - 1));

	fill = iommu_kunit_fill_iova(test, dev, top / SZ_1M);
	kunit_info(test, "%u maps of 1 MiB, lowest %pad, highest %pad\n",
		   fill->count, &fill->lowest, &fill->highest);
	/* Only IOVA page 0 is reserved: all but the lowest 1 MiB slot. */
	KUNIT_EXPECT_EQ(test, fill->count, top / SZ_1M - 1);
	KUNIT_EXPECT_EQ(test, fill->lowest, SZ_1M);
	KUNIT_EXPECT_EQ(test, fill->highest, top - SZ_1M);
}

static struct kunit_case of_iommu_test_cases[] = {
	KUNIT_CASE(of_iommu_smmu_node_present),
	KUNIT_CASE(of_iommu_smmu_driver_bound),
	KUNIT_CASE(of_iommu_runtime_node_gets_dma_domain),
	KUNIT_CASE(of_iommu_distinct_streams_are_isolated),
	KUNIT_CASE(of_iommu_no_dma_range_map_unchanged),
	KUNIT_CASE(of_iommu_offset_dma_ranges_unchanged),
	{}
};

static struct kunit_suite of_iommu_test_suite = {
	.name = "of_iommu",
	.test_cases = of_iommu_test_cases,
};

kunit_test_suite(of_iommu_test_suite);

MODULE_DESCRIPTION("KUnit tests of IOMMUs described in the device tree");
MODULE_LICENSE("GPL");
