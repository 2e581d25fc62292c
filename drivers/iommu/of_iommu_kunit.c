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

#include <kunit/of.h>
#include <kunit/test.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/of.h>
#include <linux/of_platform.h>
#include <linux/platform_device.h>
#include <linux/slab.h>

#define SMMU_COMPATIBLE "arm,smmu-v3"

/* Stream IDs past the PCI requester IDs of QEMU virt's root bus. */
#define TEST_SID_A 0x100
#define TEST_SID_B 0x101

static struct device_node *find_smmu(struct kunit *test)
{
	struct device_node *smmu;

	smmu = of_find_compatible_node(NULL, NULL, SMMU_COMPATIBLE);
	KUNIT_ASSERT_NOT_NULL_MSG(test, smmu,
				  "no %s node: run under QEMU virt,iommu=smmuv3",
				  SMMU_COMPATIBLE);
	of_node_put_kunit(test, smmu);
	return smmu;
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
	struct device_node *smmu = find_smmu(test);
	struct platform_device *pdev;
	struct of_changeset *ocs;
	struct device_node *np;
	u32 iommus[2] = { smmu->phandle, sid };
	char name[32];

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	snprintf(name, sizeof(name), "iommu-kunit@%x", sid);
	np = of_changeset_create_node(ocs, of_root, name);
	KUNIT_ASSERT_NOT_NULL(test, np);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, np, "iommus",
								  iommus, ARRAY_SIZE(iommus)));
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

static struct kunit_case of_iommu_test_cases[] = {
	KUNIT_CASE(of_iommu_smmu_node_present),
	KUNIT_CASE(of_iommu_smmu_driver_bound),
	KUNIT_CASE(of_iommu_runtime_node_gets_dma_domain),
	KUNIT_CASE(of_iommu_distinct_streams_are_isolated),
	{}
};

static struct kunit_suite of_iommu_test_suite = {
	.name = "of_iommu",
	.test_cases = of_iommu_test_cases,
};
kunit_test_suite(of_iommu_test_suite);

MODULE_DESCRIPTION("KUnit tests of IOMMUs described in the device tree");
MODULE_LICENSE("GPL");
