// SPDX-License-Identifier: GPL-2.0
/*
 * DMA on command for KUnit tests of IOMMU isolation: QEMU's edu PCI device,
 * taken from the PCI core so that a test's own device can own its stream.
 * See include/kunit/qemu_edu.h.
 */

#include <kunit/qemu_edu.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/iommu.h>
#include <linux/iopoll.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>

#define QEMU_EDU_VENDOR_ID	0x1234	/* QEMU's own test devices */
#define QEMU_EDU_DEVICE_ID	0x11e8
#define QEMU_EDU_ID		0x00	/* reads QEMU_EDU_ID_VALUE */
#define QEMU_EDU_ID_VALUE	0x010000ed
#define QEMU_EDU_DMA_SRC	0x80
#define QEMU_EDU_DMA_DST	0x88
#define QEMU_EDU_DMA_COUNT	0x90
#define QEMU_EDU_DMA_CMD	0x98
#define QEMU_EDU_CMD_RUN	BIT(0)
#define QEMU_EDU_CMD_TO_RAM	BIT(1)	/* else from RAM; BIT(2), the IRQ, is never set */
#define QEMU_EDU_DMA_BUF	0x40000	/* the edu's buffer, as its DMA registers name it */
/* The edu runs a DMA from a timer 100 ms of QEMU's virtual clock later. */
#define QEMU_EDU_TIMEOUT_US	(5 * USEC_PER_SEC)
#define QEMU_EDU_MAX		4
#define QEMU_EDU_MACHINE	"linux,dummy-virt"	/* QEMU virt's root compatible */

static DEFINE_MUTEX(qemu_edu_lock);
static struct qemu_edu qemu_edus[QEMU_EDU_MAX];
static unsigned int qemu_edu_count;
static bool qemu_edu_taken;

/*
 * Make @pdev's DMA ours: decode its BAR, check that it is an edu, let it
 * master the bus, then remove the pci_dev, which gives its stream back to
 * the IOMMU (an abort entry) and leaves the function's Command register and
 * BAR as they were. There is no way back short of a rescan of the bus.
 */
static int qemu_edu_take(struct pci_dev *pdev, struct qemu_edu *edu)
{
	struct pci_host_bridge *bridge = pci_find_host_bridge(pdev->bus);
	struct device_node *host = bridge->dev.parent ? bridge->dev.parent->of_node : NULL;
	resource_size_t bar = pci_resource_start(pdev, 0);
	resource_size_t len = pci_resource_len(pdev, 0);
	struct of_phandle_args iommu = {};
	u32 rid = pci_dev_id(pdev);
	int ret;

	if (!host || !bar || len < QEMU_EDU_DMA_CMD + 8)
		return -ENODEV;
	ret = of_map_iommu_id(host, rid, &iommu);
	if (ret)
		return ret;
	/* Not behind an IOMMU, or not one of one cell, as the SMMU's. */
	if (!iommu.np || iommu.args_count != 1) {
		of_node_put(iommu.np);
		return -ENODEV;
	}
	edu->sid = iommu.args[0];
	edu->iommu = iommu.np->phandle;
	of_node_put(iommu.np);

	ret = pci_enable_device_mem(pdev);
	if (ret)
		return ret;
	edu->regs = ioremap(bar, len);
	if (!edu->regs) {
		ret = -ENOMEM;
		goto disable;
	}
	if (readl(edu->regs + QEMU_EDU_ID) != QEMU_EDU_ID_VALUE) {
		ret = -ENODEV;
		goto unmap;
	}

	pci_lock_rescan_remove();
	/* A driver's device is the driver's. */
	if (READ_ONCE(pdev->dev.driver)) {
		pci_unlock_rescan_remove();
		ret = -EBUSY;
		goto unmap;
	}
	pci_set_master(pdev);
	pci_stop_and_remove_bus_device(pdev);
	pci_unlock_rescan_remove();

	/* The BAR is in no resource tree now: keep it from being handed out. */
	if (!request_mem_region(bar, len, "qemu-edu-kunit"))
		pr_warn("qemu-edu-kunit: %pa: BAR not reserved\n", &bar);
	edu->host = of_node_get(host);
	edu->rid = rid;
	return 0;

unmap:
	iounmap(edu->regs);
disable:
	pci_disable_device(pdev);
	return ret;
}

/*
 * Take every edu device once; they are the tests' until the machine goes.
 * Only on QEMU's virt machine, where an edu device is a test's instrument.
 */
static void qemu_edu_take_all(void)
{
	struct pci_dev *found[QEMU_EDU_MAX], *pdev = NULL;
	unsigned int i, n = 0;

	if (!of_machine_is_compatible(QEMU_EDU_MACHINE))
		return;
	while (n < QEMU_EDU_MAX &&
	       (pdev = pci_get_device(QEMU_EDU_VENDOR_ID, QEMU_EDU_DEVICE_ID, pdev)))
		found[n++] = pci_dev_get(pdev);
	pci_dev_put(pdev);

	for (i = 0; i < n; i++) {
		struct qemu_edu *edu = &qemu_edus[qemu_edu_count];
		int ret = qemu_edu_take(found[i], edu);

		if (ret) {
			pr_warn("qemu-edu-kunit: %s: not taken: %pe\n", pci_name(found[i]),
				ERR_PTR(ret));
		} else {
			pr_info("qemu-edu-kunit: %s: requester ID %#x, stream ID %#x, for DMA on command\n",
				pci_name(found[i]), edu->rid, edu->sid);
			qemu_edu_count++;
		}
		pci_dev_put(found[i]);
	}
}

/**
 * qemu_edu_kunit_get() - an edu device for DMA on command
 * @test: test context; the test is skipped if there is no such device
 * @index: which one, counted from 0 in PCI order of those taken
 *
 * The first call takes every edu device without a driver from the PCI core,
 * on QEMU's virt machine only: it enables the function, lets it master the
 * bus, and removes its pci_dev for good, so that the stream ID it uses has
 * no device until a test makes one for it. The devices stay taken until the
 * machine goes: every later call, of any test, gets the same ones. A test
 * that gives a device the stream must remove it before it ends.
 *
 * Return: the edu device.
 */
const struct qemu_edu *qemu_edu_kunit_get(struct kunit *test, unsigned int index)
{
	unsigned int count;

	mutex_lock(&qemu_edu_lock);
	if (!qemu_edu_taken) {
		qemu_edu_take_all();
		qemu_edu_taken = true;
	}
	count = qemu_edu_count;
	mutex_unlock(&qemu_edu_lock);

	if (!of_machine_is_compatible(QEMU_EDU_MACHINE))
		kunit_skip(test, "not QEMU's virt machine: no edu device is taken");
	if (index >= count)
		kunit_skip(test, "no edu device #%u behind an IOMMU (QEMU -device edu)", index);
	return &qemu_edus[index];
}
EXPORT_SYMBOL_GPL(qemu_edu_kunit_get);

/**
 * qemu_edu_kunit_dma() - one DMA between the edu's buffer and a bus address
 * @test: test context; fails if the DMA does not end in time
 * @edu: the edu device
 * @addr: the bus address (an IOVA of the edu's stream)
 * @len: how many bytes, at most %QEMU_EDU_DMA_MAX, from the start of the
 *	edu's buffer
 * @to_ram: write @addr from the buffer; otherwise read @addr into it
 *
 * Returns once the edu says the DMA is done. Whether the IOMMU let it
 * through only the data tells.
 */
void qemu_edu_kunit_dma(struct kunit *test, const struct qemu_edu *edu, dma_addr_t addr,
			size_t len, bool to_ram)
{
	u64 cmd = QEMU_EDU_CMD_RUN | (to_ram ? QEMU_EDU_CMD_TO_RAM : 0);
	int ret;

	KUNIT_ASSERT_GT(test, len, 0);
	KUNIT_ASSERT_LE(test, len, QEMU_EDU_DMA_MAX);
	/* A busy edu ignores what is written to its registers. */
	KUNIT_ASSERT_FALSE_MSG(test, readq(edu->regs + QEMU_EDU_DMA_CMD) & QEMU_EDU_CMD_RUN,
			       "edu %#x: a DMA is still running", edu->rid);
	/* The edu takes 64-bit accesses to these registers. */
	writeq(to_ram ? QEMU_EDU_DMA_BUF : addr, edu->regs + QEMU_EDU_DMA_SRC);
	writeq(to_ram ? addr : QEMU_EDU_DMA_BUF, edu->regs + QEMU_EDU_DMA_DST);
	writeq(len, edu->regs + QEMU_EDU_DMA_COUNT);
	writeq(cmd, edu->regs + QEMU_EDU_DMA_CMD);
	ret = readq_poll_timeout(edu->regs + QEMU_EDU_DMA_CMD, cmd, !(cmd & QEMU_EDU_CMD_RUN),
				 2 * USEC_PER_MSEC, QEMU_EDU_TIMEOUT_US);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "edu %#x: DMA %s %pad did not end", edu->rid,
			    to_ram ? "to" : "from", &addr);
}
EXPORT_SYMBOL_GPL(qemu_edu_kunit_dma);

/*
 * A buffer for the edu's own transfers, mapped through @dev only for one
 * DMA, so that no mapping of it is left when the test's DMA runs.
 */
struct qemu_edu_stage {
	struct device *dev;
	enum dma_data_direction dir;
	dma_addr_t addr;
	void *buf;
};

static void qemu_edu_stage_map(struct kunit *test, struct qemu_edu_stage *stage,
			       struct device *dev, size_t len, enum dma_data_direction dir)
{
	stage->dev = dev;
	stage->dir = dir;
	stage->buf = kunit_kmalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, stage->buf);
	/* Not zeros: a store the IOMMU refused must not look like zeros read. */
	memset(stage->buf, 0xa5, len);
}

static void qemu_edu_stage_dma(struct kunit *test, const struct qemu_edu *edu,
			       struct qemu_edu_stage *stage, size_t len)
{
	stage->addr = dma_map_single(stage->dev, stage->buf, len, stage->dir);
	KUNIT_ASSERT_FALSE_MSG(test, dma_mapping_error(stage->dev, stage->addr),
			       "%s: no IOVA left for the edu's staging buffer",
			       dev_name(stage->dev));
	qemu_edu_kunit_dma(test, edu, stage->addr, len, stage->dir == DMA_FROM_DEVICE);
	dma_unmap_single(stage->dev, stage->addr, len, stage->dir);
}

/**
 * qemu_edu_kunit_load() - fill the edu's buffer
 * @test: test context
 * @edu: the edu device
 * @dev: the device that owns the edu's stream (it has a DMA domain)
 * @src: what to put at the start of the buffer
 * @len: how many bytes, at most %QEMU_EDU_DMA_MAX
 *
 * The edu reads @src through a mapping of @dev made for this DMA and
 * unmapped after it.
 */
void qemu_edu_kunit_load(struct kunit *test, const struct qemu_edu *edu, struct device *dev,
			 const void *src, size_t len)
{
	struct qemu_edu_stage stage;

	qemu_edu_stage_map(test, &stage, dev, len, DMA_TO_DEVICE);
	memcpy(stage.buf, src, len);
	qemu_edu_stage_dma(test, edu, &stage, len);
	kunit_kfree(test, stage.buf);
}
EXPORT_SYMBOL_GPL(qemu_edu_kunit_load);

/**
 * qemu_edu_kunit_store() - read the edu's buffer
 * @test: test context
 * @edu: the edu device
 * @dev: the device that owns the edu's stream (it has a DMA domain)
 * @dst: where to put the start of the buffer
 * @len: how many bytes, at most %QEMU_EDU_DMA_MAX
 *
 * The edu writes @dst through a mapping of @dev made for this DMA and
 * unmapped after it. Where the IOMMU refuses that write, @dst gets 0xa5
 * bytes, which no refused read gives.
 */
void qemu_edu_kunit_store(struct kunit *test, const struct qemu_edu *edu, struct device *dev,
			  void *dst, size_t len)
{
	struct qemu_edu_stage stage;

	qemu_edu_stage_map(test, &stage, dev, len, DMA_FROM_DEVICE);
	qemu_edu_stage_dma(test, edu, &stage, len);
	memcpy(dst, stage.buf, len);
	kunit_kfree(test, stage.buf);
}
EXPORT_SYMBOL_GPL(qemu_edu_kunit_store);

static bool qemu_edu_all(const u8 *p, u8 c, size_t len)
{
	return !memchr_inv(p, c, len);
}

/* A pattern no page holds by chance, different for each @seed. */
static void qemu_edu_pattern(u8 *p, size_t len, u8 seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = seed ^ (u8)(i * 7 + (i >> 8)) ^ 0xa5;
	p[0] = seed | 1;	/* never all zeros */
}

/**
 * qemu_edu_kunit_reach() - what the edu's stream can do at a bus address
 * @test: test context; fails if the data shows neither a DMA that went
 *	through nor one the IOMMU refused
 * @edu: the edu device
 * @dev: the device that owns the edu's stream (it has a DMA domain)
 * @addr: the bus address to try (an IOVA of the stream)
 * @cpu: the @len bytes the DMA would reach if @addr led there: a mapped
 *	buffer, or the page whose physical address @addr is. They are
 *	overwritten.
 * @len: how many bytes, at most %QEMU_EDU_DMA_MAX
 *
 * Checks first that the edu's stream goes through @dev: a pattern loaded
 * into the edu through @dev comes back. Then writes that pattern to @addr
 * over a canary at @cpu, reads @addr after the CPU put another pattern at
 * @cpu, and reads the edu's buffer back. No
 * mapping of @dev is left while the edu uses @addr: the helper's own
 * transfers go through mappings made and unmapped around each of them.
 * The CPU reads and writes @cpu without cache maintenance: give @dev's node
 * "dma-coherent", as QEMU's PCI host is. The test is skipped where @dev's
 * domain invalidates lazily (DMA-FQ), which would let the DMA at @addr go
 * through a staging mapping just unmapped.
 *
 * Return: whether the read and the write went through.
 */
struct qemu_edu_reach qemu_edu_kunit_reach(struct kunit *test, const struct qemu_edu *edu,
					   struct device *dev, dma_addr_t addr, void *cpu,
					   size_t len)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);
	struct iommu_fwspec *fwspec;
	struct qemu_edu_reach reach;
	u8 *written, *read, *back;

	KUNIT_ASSERT_TRUE_MSG(test, dev_is_dma_coherent(dev),
			      "%s is not DMA-coherent: the CPU would not see the edu's DMA",
			      dev_name(dev));
	/* A staging mapping unmapped lazily could still serve the DMA at @addr. */
	if (domain && domain->type == IOMMU_DOMAIN_DMA_FQ)
		kunit_skip(test, "%s: lazy invalidation (DMA-FQ) keeps unmapped IOVAs usable",
			   dev_name(dev));
	fwspec = dev_iommu_fwspec_get(dev);
	KUNIT_ASSERT_TRUE_MSG(test, fwspec && fwspec->num_ids == 1 && fwspec->ids[0] == edu->sid,
			      "%s is not on the edu's stream %#x", dev_name(dev), edu->sid);
	written = kunit_kmalloc(test, len, GFP_KERNEL);
	read = kunit_kmalloc(test, len, GFP_KERNEL);
	back = kunit_kmalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, written);
	KUNIT_ASSERT_NOT_NULL(test, read);
	KUNIT_ASSERT_NOT_NULL(test, back);
	qemu_edu_pattern(written, len, 0x30);
	qemu_edu_pattern(read, len, 0xc0);

	/*
	 * The instrument first: the stream goes through @dev's domain. Else
	 * every DMA below would be refused, and prove nothing.
	 */
	qemu_edu_kunit_load(test, edu, dev, written, len);
	qemu_edu_kunit_store(test, edu, dev, back, len);
	KUNIT_ASSERT_TRUE_MSG(test, !memcmp(back, written, len),
			      "edu %#x: its stream does not go through %s", edu->rid,
			      dev_name(dev));

	/* The write: the edu's buffer, loaded above, over a canary. */
	memset(cpu, 0x5a, len);
	qemu_edu_kunit_dma(test, edu, addr, len, true);
	reach.write = !memcmp(cpu, written, len);
	KUNIT_ASSERT_TRUE_MSG(test, reach.write || qemu_edu_all(cpu, 0x5a, len),
			      "edu %#x: a write to %pad left neither its data nor the canary",
			      edu->rid, &addr);

	/* The read: into a buffer that holds the pattern written above. */
	memcpy(cpu, read, len);
	qemu_edu_kunit_dma(test, edu, addr, len, false);
	qemu_edu_kunit_store(test, edu, dev, back, len);
	reach.read = !memcmp(back, read, len);
	KUNIT_ASSERT_TRUE_MSG(test, reach.read || qemu_edu_all(back, 0, len),
			      "edu %#x: a read of %pad gave neither the data nor zeros",
			      edu->rid, &addr);

	kunit_info(test, "edu %#x (stream %#x) at %pad: read %s, write %s\n", edu->rid,
		   edu->sid, &addr, reach.read ? "went through" : "blocked",
		   reach.write ? "went through" : "blocked");
	kunit_kfree(test, back);
	kunit_kfree(test, read);
	kunit_kfree(test, written);
	return reach;
}
EXPORT_SYMBOL_GPL(qemu_edu_kunit_reach);

static void qemu_edu_unmap_action(void *data)
{
	struct qemu_edu_buf *buf = data;

	dma_unmap_single(buf->dev, buf->iova, buf->len, DMA_BIDIRECTIONAL);
}

/**
 * qemu_edu_kunit_map() - map a new buffer for DMA both ways
 * @test: test context; the buffer is unmapped when the test ends, if not
 *	before (qemu_edu_kunit_unmap())
 * @dev: the device to map it through
 * @len: its length
 *
 * Return: the zeroed buffer, mapped.
 */
struct qemu_edu_buf *qemu_edu_kunit_map(struct kunit *test, struct device *dev, size_t len)
{
	struct qemu_edu_buf *buf;

	buf = kunit_kzalloc(test, sizeof(*buf), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	buf->dev = dev;
	buf->len = len;
	buf->cpu = kunit_kzalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf->cpu);
	buf->iova = dma_map_single(dev, buf->cpu, len, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_FALSE_MSG(test, dma_mapping_error(dev, buf->iova), "%s: no IOVA",
			       dev_name(dev));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, qemu_edu_unmap_action, buf));
	return buf;
}
EXPORT_SYMBOL_GPL(qemu_edu_kunit_map);

/**
 * qemu_edu_kunit_unmap() - unmap a buffer of qemu_edu_kunit_map() now
 * @test: test context
 * @buf: the buffer; its memory stays until the test ends
 */
void qemu_edu_kunit_unmap(struct kunit *test, struct qemu_edu_buf *buf)
{
	kunit_release_action(test, qemu_edu_unmap_action, buf);
}
EXPORT_SYMBOL_GPL(qemu_edu_kunit_unmap);

MODULE_DESCRIPTION("QEMU edu device for KUnit DMA tests");
MODULE_LICENSE("GPL");
