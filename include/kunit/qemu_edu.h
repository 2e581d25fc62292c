/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DMA on command, for KUnit tests of what an IOMMU lets a stream reach.
 *
 * QEMU's "edu" PCI device (hw/misc/edu.c, 1234:11e8) copies between a
 * 4 KiB buffer of its own and a bus address when told to, under its PCI
 * requester ID, so through the IOMMU in front of its host bridge. On QEMU
 * virt with iommu=smmuv3 that is the SMMUv3, which sees the requester ID as
 * the stream ID. The edu reports nothing, so tests tell by the data, from
 * what QEMU does with a DMA the IOMMU refuses: a write leaves memory as it
 * was, a read gives zeros (what QEMU reads from unassigned memory). QEMU
 * splits a refused DMA into accesses of 4 bytes, and the SMMU logs a
 * translation fault for each: keep DMA that should fault short where the
 * log matters. A stream without a device is aborted, silently.
 *
 * The helper's own transfers go through mappings of the device that owns
 * the stream, made and unmapped around each of them; on a fresh IOVA space
 * they take its top page. To try an IOVA of another device's buffer on a
 * stream that maps nothing of its own, give that buffer more than a page
 * and try its first page, below the top.
 *
 * Boot with one "-device edu,addr=SLOT,dma_mask=0xffffffffffffffff" per
 * stream the tests need (tools/testing/kunit/qemu_configs/arm64_smmuv3.py):
 * the default mask of 28 bits would clamp the addresses.
 */
#ifndef _KUNIT_QEMU_EDU_H
#define _KUNIT_QEMU_EDU_H

#include <kunit/test.h>
#include <linux/types.h>

struct device;
struct device_node;

/*
 * The most one DMA moves. The edu's buffer has 4 KiB, but QEMU before 8.0
 * stops the whole machine (hw_error()) for a transfer that reaches the
 * buffer's last byte: half of it keeps transfers clear of that, and
 * aligned.
 */
#define QEMU_EDU_DMA_MAX	2048

/**
 * struct qemu_edu - an edu device taken over for DMA on command
 * @regs: its register BAR
 * @host: the node of its PCI host bridge, whose "iommu-map" translates @rid
 * @rid: its PCI requester ID: the function id of @host's "iommu-map"
 * @sid: the stream ID @rid maps to: what "iommus" of a node names
 * @iommu: the phandle of the IOMMU that sees @sid
 *
 * No struct pci_dev stands for the device any more: its stream is free for
 * a context device of the test's, made from @host and @rid or from a node
 * with "iommus = <@iommu @sid>".
 */
struct qemu_edu {
	void __iomem *regs;
	struct device_node *host;
	u32 rid;
	u32 sid;
	u32 iommu;
};

/**
 * struct qemu_edu_reach - what a stream's DMA did at an address
 * @read: the edu read what the CPU had put there
 * @write: what the edu wrote landed there
 */
struct qemu_edu_reach {
	bool read;
	bool write;
};

/**
 * struct qemu_edu_buf - a buffer mapped for DMA both ways
 * @dev: the device it is mapped through
 * @cpu: the buffer, zeroed when mapped
 * @len: its length
 * @iova: its DMA address
 */
struct qemu_edu_buf {
	struct device *dev;
	void *cpu;
	size_t len;
	dma_addr_t iova;
};

/**
 * QEMU_EDU_KUNIT_EXPECT_REACH() - expect what qemu_edu_kunit_reach() saw
 * @test: test context
 * @reach: what it returned
 * @can_read: whether the read should have gone through
 * @can_write: whether the write should have gone through
 * @what: what was tried, for the message
 */
#define QEMU_EDU_KUNIT_EXPECT_REACH(test, reach, can_read, can_write, what) do {	\
	struct qemu_edu_reach __reach = (reach);					\
	struct kunit *__test = (test);							\
	const char *__what = (what);							\
											\
	KUNIT_EXPECT_EQ_MSG(__test, __reach.read, can_read, "read of %s", __what);	\
	KUNIT_EXPECT_EQ_MSG(__test, __reach.write, can_write, "write of %s", __what);	\
} while (0)

#ifdef CONFIG_IOMMU_KUNIT_EDU

const struct qemu_edu *qemu_edu_kunit_get(struct kunit *test, unsigned int index);
void qemu_edu_kunit_dma(struct kunit *test, const struct qemu_edu *edu, dma_addr_t addr,
			size_t len, bool to_ram);
void qemu_edu_kunit_load(struct kunit *test, const struct qemu_edu *edu, struct device *dev,
			 const void *src, size_t len);
void qemu_edu_kunit_store(struct kunit *test, const struct qemu_edu *edu, struct device *dev,
			  void *dst, size_t len);
struct qemu_edu_reach qemu_edu_kunit_reach(struct kunit *test, const struct qemu_edu *edu,
					   struct device *dev, dma_addr_t addr, void *cpu,
					   size_t len);
struct qemu_edu_buf *qemu_edu_kunit_map(struct kunit *test, struct device *dev, size_t len);
void qemu_edu_kunit_unmap(struct kunit *test, struct qemu_edu_buf *buf);

#else

static inline const struct qemu_edu *qemu_edu_kunit_get(struct kunit *test, unsigned int index)
{
	kunit_skip(test, "requires CONFIG_IOMMU_KUNIT_EDU (PCI, 64-bit)");
	return NULL;
}

static inline void qemu_edu_kunit_dma(struct kunit *test, const struct qemu_edu *edu,
				      dma_addr_t addr, size_t len, bool to_ram)
{
}

static inline void qemu_edu_kunit_load(struct kunit *test, const struct qemu_edu *edu,
				       struct device *dev, const void *src, size_t len)
{
}

static inline void qemu_edu_kunit_store(struct kunit *test, const struct qemu_edu *edu,
					struct device *dev, void *dst, size_t len)
{
}

static inline struct qemu_edu_reach
qemu_edu_kunit_reach(struct kunit *test, const struct qemu_edu *edu, struct device *dev,
		     dma_addr_t addr, void *cpu, size_t len)
{
	return (struct qemu_edu_reach){};
}

static inline struct qemu_edu_buf *qemu_edu_kunit_map(struct kunit *test, struct device *dev,
						      size_t len)
{
	kunit_skip(test, "requires CONFIG_IOMMU_KUNIT_EDU (PCI, 64-bit)");
	return NULL;
}

static inline void qemu_edu_kunit_unmap(struct kunit *test, struct qemu_edu_buf *buf)
{
}

#endif

#endif /* _KUNIT_QEMU_EDU_H */
