/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test managed helpers for KUnit tests that need a real IOMMU described in
 * the device tree, such as the SMMUv3 of QEMU's arm64 virt machine.
 */
#ifndef _KUNIT_IOMMU_H
#define _KUNIT_IOMMU_H

#include <kunit/test.h>
#include <linux/types.h>

struct device;
struct page;

/**
 * struct iommu_kunit_fill - IOVA space filled by iommu_kunit_fill_iova()
 * @dev: the device the mappings were made for
 * @buf: the 1 MiB buffer mapped again and again, for DMA both ways
 * @count: how many 1 MiB mappings were made
 * @lowest: the lowest IOVA handed out, DMA_MAPPING_ERROR if none
 * @highest: the highest IOVA handed out
 * @iova: the @count IOVAs, in the order they were handed out
 */
struct iommu_kunit_fill {
	struct device *dev;
	struct page *buf;
	unsigned int count;
	dma_addr_t lowest;
	dma_addr_t highest;
	dma_addr_t iova[];
};

#ifdef CONFIG_IOMMU_KUNIT_HELPERS

u32 iommu_kunit_phandle(struct kunit *test);
u32 iommu_kunit_phandle_node(struct kunit *test, bool absent_iommu);
u32 iommu_kunit_absent_phandle(struct kunit *test);
void iommu_kunit_default_passthrough(struct kunit *test);
unsigned int iommu_kunit_count_reserved(struct kunit *test, struct device *dev,
					u64 start, u64 last, bool exact);
struct iommu_kunit_fill *iommu_kunit_fill_iova(struct kunit *test, struct device *dev,
					       unsigned int cap);
void iommu_kunit_fill_release(struct kunit *test, struct iommu_kunit_fill *fill,
			      unsigned int n);
void iommu_kunit_unfill(struct kunit *test, struct iommu_kunit_fill *fill);

#else

static inline u32 iommu_kunit_phandle(struct kunit *test)
{
	kunit_skip(test, "requires CONFIG_IOMMU_KUNIT_HELPERS");
	return 0;
}

static inline u32 iommu_kunit_phandle_node(struct kunit *test, bool absent_iommu)
{
	kunit_skip(test, "requires CONFIG_IOMMU_KUNIT_HELPERS");
	return 0;
}

static inline u32 iommu_kunit_absent_phandle(struct kunit *test)
{
	kunit_skip(test, "requires CONFIG_IOMMU_KUNIT_HELPERS");
	return 0;
}

static inline void iommu_kunit_default_passthrough(struct kunit *test)
{
	kunit_skip(test, "requires CONFIG_IOMMU_KUNIT_HELPERS");
}

static inline unsigned int iommu_kunit_count_reserved(struct kunit *test, struct device *dev,
						      u64 start, u64 last, bool exact)
{
	kunit_skip(test, "requires CONFIG_IOMMU_KUNIT_HELPERS");
	return 0;
}

static inline struct iommu_kunit_fill *
iommu_kunit_fill_iova(struct kunit *test, struct device *dev, unsigned int cap)
{
	kunit_skip(test, "requires CONFIG_IOMMU_KUNIT_HELPERS");
	return NULL;
}

static inline void iommu_kunit_fill_release(struct kunit *test, struct iommu_kunit_fill *fill,
					    unsigned int n)
{
}

static inline void iommu_kunit_unfill(struct kunit *test, struct iommu_kunit_fill *fill)
{
}

#endif

#endif /* _KUNIT_IOMMU_H */
