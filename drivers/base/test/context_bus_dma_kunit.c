// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of what a context device's DMA can reach: real DMA through
 * the SMMUv3 of QEMU's virt machine, by QEMU's edu PCI device
 * (include/kunit/qemu_edu.h). Each case gives an edu's stream ID to a
 * context device and checks, by the data, that the stream reaches what the
 * device maps, inside its IOVA window, and nothing else: no unmapped IOVA,
 * no physical address, nothing of another context, nothing after unmap or
 * destroy.
 *
 * Needs QEMU virt,iommu=smmuv3 with two edu devices or more
 * (tools/testing/kunit/qemu_configs/arm64_smmuv3.py); skipped without them.
 * Unmap and destroy are checked with strict invalidation only: with lazy
 * invalidation (DMA-FQ) a stale IOTLB entry may serve a DMA after unmap,
 * as designed.
 */

#include <kunit/device.h>
#include <kunit/iommu.h>
#include <kunit/of.h>
#include <kunit/qemu_edu.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/context_bus.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/iommu.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/sizes.h>
#include <linux/string.h>

#define CTX_DMA_MB(n)	((u64)(n) * SZ_1M)
/* What each DMA moves: as much as one edu DMA may. */
#define CTX_DMA_LEN	QEMU_EDU_DMA_MAX

KUNIT_DEFINE_ACTION_WRAPPER(ctx_dma_destroy_action, context_device_destroy,
			    struct context_device *);

KUNIT_DEFINE_ACTION_WRAPPER(ctx_dma_free_page, __free_page, struct page *);

/* A zeroed page below 4 GiB, where a 32-bit IOVA can equal its address. */
static void *ctx_dma_low_page(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL | GFP_DMA32 | __GFP_ZERO);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ctx_dma_free_page, page));
	return page_address(page);
}

/* A context device for @edu's stream, destroyed when the test ends if not before. */
static struct context_device *ctx_dma_create(struct kunit *test, struct device *parent,
					     const struct context_device_info *info)
{
	struct context_device *cdev = context_device_create(parent, info);

	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, cdev, "%pOF fn %u: %pe", info->np, info->fn_id,
					 cdev);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ctx_dma_destroy_action, cdev));
	return cdev;
}

static void ctx_dma_destroy(struct kunit *test, struct context_device *cdev)
{
	kunit_release_action(test, ctx_dma_destroy_action, cdev);
}

static struct device *ctx_dma_parent(struct kunit *test, const char *name)
{
	struct device *parent = kunit_device_register(test, name);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, parent);
	return parent;
}

/*
 * The iommu-map model: @edu's requester ID through the iommu-map of its
 * own PCI host bridge, as the PCI core would map it. The host is
 * dma-coherent, and so is the device.
 */
static struct context_device *ctx_dma_on_host(struct kunit *test, const struct qemu_edu *edu,
					      struct device *parent, u64 start, u64 size)
{
	struct context_device_info info = {
		.np = edu->host,
		.fn_id = edu->rid,
		.dma_mask = DMA_BIT_MASK(32),
		.iova_start = start,
		.iova_size = size,
	};

	return ctx_dma_create(test, parent, &info);
}

/*
 * The child-node model: node "ctx" with iommus = <&smmu sid>, in a
 * container of its own so that the OF core makes no platform device of it.
 */
static struct context_device *ctx_dma_on_node(struct kunit *test, const struct qemu_edu *edu,
					      struct device *parent)
{
	const u32 iommus[] = { edu->iommu, edu->sid };
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	struct device_node *box, *np;
	struct of_changeset *ocs;
	char name[32];

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	snprintf(name, sizeof(name), "ctxbus-dma-%x", edu->sid);
	box = of_changeset_create_node(ocs, of_root, name);
	KUNIT_ASSERT_NOT_NULL(test, box);
	of_node_put_kunit(test, box);
	np = of_changeset_create_node(ocs, box, "ctx");
	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, np, "iommus", iommus,
								 ARRAY_SIZE(iommus)));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_bool(ocs, np, "dma-coherent"));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));

	info.np = np;
	return ctx_dma_create(test, parent, &info);
}

static struct iommu_domain *ctx_dma_domain(struct kunit *test, struct context_device *cdev)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(&cdev->dev);

	KUNIT_ASSERT_NOT_NULL(test, domain);
	return domain;
}

/* Unmap and destroy must take effect at once: no lazy invalidation. */
static void ctx_dma_require_strict(struct kunit *test, struct context_device *cdev)
{
	if (ctx_dma_domain(test, cdev)->type != IOMMU_DOMAIN_DMA)
		kunit_skip(test, "%s: no strict invalidation: DMA may go on after unmap",
			   dev_name(&cdev->dev));
}

/* @addr must be an IOVA the device has not mapped. */
static void ctx_dma_expect_unmapped(struct kunit *test, struct context_device *cdev,
				    dma_addr_t addr)
{
	KUNIT_EXPECT_EQ_MSG(test, iommu_iova_to_phys(ctx_dma_domain(test, cdev), addr), 0,
			    "%s maps %pad", dev_name(&cdev->dev), &addr);
}

/* A buffer goes RAM -> edu -> RAM through its IOVAs, which are no physical addresses. */
static void context_bus_dma_round_trip(struct kunit *test)
{
	const struct qemu_edu *edu = qemu_edu_kunit_get(test, 0);
	struct device *parent = ctx_dma_parent(test, "ctxdma-trip");
	struct context_device *cdev = ctx_dma_on_host(test, edu, parent, 0, 0);
	struct qemu_edu_buf *src, *dst;
	unsigned int i;
	u8 *data;

	/* The CPU reads what the edu wrote with no dma_sync_*() in between. */
	KUNIT_ASSERT_TRUE(test, dev_is_dma_coherent(&cdev->dev));
	src = qemu_edu_kunit_map(test, &cdev->dev, PAGE_SIZE);
	dst = qemu_edu_kunit_map(test, &cdev->dev, PAGE_SIZE);
	KUNIT_EXPECT_NE(test, (u64)src->iova, (u64)virt_to_phys(src->cpu));
	KUNIT_EXPECT_NE(test, (u64)dst->iova, (u64)virt_to_phys(dst->cpu));

	data = src->cpu;
	for (i = 0; i < CTX_DMA_LEN; i++)
		data[i] = i * 13 + 1;
	memset(dst->cpu, 0xee, CTX_DMA_LEN);
	qemu_edu_kunit_dma(test, edu, src->iova, CTX_DMA_LEN, false);
	qemu_edu_kunit_dma(test, edu, dst->iova, CTX_DMA_LEN, true);
	kunit_info(test, "stream %#x: IOVA %pad (phys %#llx) -> edu -> IOVA %pad (phys %#llx)\n",
		   edu->sid, &src->iova, (u64)virt_to_phys(src->cpu), &dst->iova,
		   (u64)virt_to_phys(dst->cpu));
	KUNIT_EXPECT_MEMEQ(test, dst->cpu, src->cpu, CTX_DMA_LEN);
}

/* An IOVA nothing is mapped at, equal to a page's physical address, reaches nothing. */
static void context_bus_dma_unmapped_iova_faults(struct kunit *test)
{
	const struct qemu_edu *edu = qemu_edu_kunit_get(test, 0);
	struct device *parent = ctx_dma_parent(test, "ctxdma-unmapped");
	struct context_device *cdev = ctx_dma_on_host(test, edu, parent, 0, 0);
	void *canary = ctx_dma_low_page(test);
	dma_addr_t addr = virt_to_phys(canary);

	ctx_dma_expect_unmapped(test, cdev, addr);
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu, &cdev->dev, addr, canary,
							       CTX_DMA_LEN),
				    false, false, "a page by its physical address");
}

/*
 * The instrument's own check: where the IOMMU translates nothing (an
 * identity domain), the same DMA reaches the page. Without it the case
 * above could pass with an edu whose DMA never lands.
 */
static void context_bus_dma_identity_reaches_memory(struct kunit *test)
{
	const struct qemu_edu *edu = qemu_edu_kunit_get(test, 0);
	struct device *parent = ctx_dma_parent(test, "ctxdma-identity");
	struct context_device_info info = {
		.np = edu->host,
		.fn_id = edu->rid,
		.dma_mask = DMA_BIT_MASK(32),
		.flags = CONTEXT_DEVICE_ALLOW_IDENTITY,
	};
	void *page = ctx_dma_low_page(test);
	struct context_device *cdev;

	iommu_kunit_default_passthrough(test);
	cdev = ctx_dma_create(test, parent, &info);
	KUNIT_ASSERT_EQ(test, ctx_dma_domain(test, cdev)->type, IOMMU_DOMAIN_IDENTITY);
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu, &cdev->dev,
							       virt_to_phys(page), page,
							       CTX_DMA_LEN),
				    true, true, "a page by its physical address, untranslated");
}

/*
 * Two contexts, two streams: B reaches nothing of what only A maps, A
 * does. B maps nothing of its own while it tries, for both allocate their
 * IOVAs top-down and B's first would be A's: A's buffer is 64 KiB and its
 * first page is tried, below the top page the helper's staging takes.
 */
static void context_bus_dma_contexts_are_isolated(struct kunit *test)
{
	const struct qemu_edu *edu_a = qemu_edu_kunit_get(test, 0);
	const struct qemu_edu *edu_b = qemu_edu_kunit_get(test, 1);
	struct device *parent = ctx_dma_parent(test, "ctxdma-isolated");
	struct context_device *a = ctx_dma_on_node(test, edu_a, parent);
	struct context_device *b = ctx_dma_on_host(test, edu_b, parent, 0, 0);
	struct qemu_edu_buf *buf = qemu_edu_kunit_map(test, &a->dev, SZ_64K);

	ctx_dma_expect_unmapped(test, b, buf->iova);
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu_b, &b->dev, buf->iova,
							       buf->cpu, CTX_DMA_LEN),
				    false, false, "A's buffer by B's stream");
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu_b, &b->dev,
							       virt_to_phys(buf->cpu), buf->cpu,
							       CTX_DMA_LEN),
				    false, false,
				    "A's buffer by its physical address, by B's stream");
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu_a, &a->dev, buf->iova,
							       buf->cpu, CTX_DMA_LEN),
				    true, true, "A's buffer by A's stream");
}

struct ctx_dma_window {
	const char *name;
	u64 start;
	u64 size;
};

/* The three context banks of the iris VPU. */
static const struct ctx_dma_window ctx_dma_windows[] = {
	{ "600M-3500M", CTX_DMA_MB(600), CTX_DMA_MB(3500) - CTX_DMA_MB(600) },
	{ "0-3500M", 0, CTX_DMA_MB(3500) },
	{ "16M-600M", CTX_DMA_MB(16), CTX_DMA_MB(600) - CTX_DMA_MB(16) },
};

KUNIT_ARRAY_PARAM_DESC(ctx_dma_window, ctx_dma_windows, name);

/*
 * Fill the window with 1 MiB mappings of one buffer, allowing enough to
 * fill the whole DMA mask, so that a window that does not hold would map
 * the IOVAs just outside it too. Then the last page inside the window
 * reaches the buffer, and the pages just below and just above reach
 * nothing. The lowest mapping is given back, as room for the edu's
 * staging.
 */
static void context_bus_dma_window(struct kunit *test)
{
	const struct ctx_dma_window *win = test->param_value;
	const struct qemu_edu *edu = qemu_edu_kunit_get(test, 0);
	u64 end = win->start + win->size;
	struct iommu_kunit_fill *fill;
	struct context_device *cdev;
	struct device *parent;
	char name[32];
	void *buf;

	/* A name per window: the last one's may live on (DEBUG_KOBJECT_RELEASE). */
	snprintf(name, sizeof(name), "ctxdma-%s", win->name);
	parent = ctx_dma_parent(test, name);
	cdev = ctx_dma_on_host(test, edu, parent, win->start, win->size);
	fill = iommu_kunit_fill_iova(test, &cdev->dev, (DMA_BIT_MASK(32) >> 20) + 16);
	kunit_info(test, "window %s: %u maps of 1 MiB, lowest %#llx, highest %#llx\n", win->name,
		   fill->count, (u64)fill->lowest, (u64)fill->highest);
	/* IOVA 0 is never handed out: a window from 0 starts at its second MiB. */
	KUNIT_EXPECT_EQ(test, (u64)fill->lowest, max_t(u64, win->start, SZ_1M));
	KUNIT_EXPECT_EQ(test, (u64)fill->highest + SZ_1M, end);
	iommu_kunit_fill_release(test, fill, 1);
	buf = page_address(fill->buf);

	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu, &cdev->dev,
							       fill->highest + SZ_1M - PAGE_SIZE,
							       buf + SZ_1M - PAGE_SIZE,
							       CTX_DMA_LEN),
				    true, true, "the last page of the window");
	if (win->start)
		QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu, &cdev->dev,
								       win->start - PAGE_SIZE,
								       buf + SZ_1M - PAGE_SIZE,
								       CTX_DMA_LEN),
					    false, false, "the page below the window");
	if (end <= DMA_BIT_MASK(32))
		QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu, &cdev->dev, end,
								       buf, CTX_DMA_LEN),
					    false, false, "the page above the window");
}

/*
 * Right after dma_unmap_single() the stream reaches the IOVA no more: the
 * write comes at once, with no mapping of the helper's made in between;
 * then the read.
 */
static void context_bus_dma_unmap_ends_reach(struct kunit *test)
{
	const struct qemu_edu *edu = qemu_edu_kunit_get(test, 0);
	struct device *parent = ctx_dma_parent(test, "ctxdma-unmap");
	struct context_device *cdev = ctx_dma_on_host(test, edu, parent, 0, 0);
	u8 *pattern, *back;
	struct qemu_edu_buf *buf;
	dma_addr_t iova;

	ctx_dma_require_strict(test, cdev);
	pattern = kunit_kmalloc(test, CTX_DMA_LEN, GFP_KERNEL);
	back = kunit_kmalloc(test, CTX_DMA_LEN, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pattern);
	KUNIT_ASSERT_NOT_NULL(test, back);
	memset(pattern, 0x3c, CTX_DMA_LEN);

	buf = qemu_edu_kunit_map(test, &cdev->dev, PAGE_SIZE);
	iova = buf->iova;
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu, &cdev->dev, iova,
							       buf->cpu, CTX_DMA_LEN),
				    true, true, "a mapped buffer");
	qemu_edu_kunit_load(test, edu, &cdev->dev, pattern, CTX_DMA_LEN);
	memset(buf->cpu, 0x5a, CTX_DMA_LEN);
	qemu_edu_kunit_unmap(test, buf);
	qemu_edu_kunit_dma(test, edu, iova, CTX_DMA_LEN, true);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(buf->cpu, 0x5a, CTX_DMA_LEN),
			      "a write to %pad right after its unmap landed", &iova);

	memset(buf->cpu, 0x96, CTX_DMA_LEN);
	qemu_edu_kunit_dma(test, edu, iova, CTX_DMA_LEN, false);
	qemu_edu_kunit_store(test, edu, &cdev->dev, back, CTX_DMA_LEN);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(back, 0, CTX_DMA_LEN),
			      "a read of %pad right after its unmap gave %*ph...", &iova, 8, back);
}

/*
 * After context_device_destroy() the stream reaches neither the IOVA it
 * had mapped nor the buffer's physical address. With no device for the
 * stream, only a new context device on it can read the edu's buffer back:
 * it must hold zeros, what a refused read gives.
 */
static void context_bus_dma_destroy_ends_reach(struct kunit *test)
{
	const struct qemu_edu *edu = qemu_edu_kunit_get(test, 0);
	struct device *parent = ctx_dma_parent(test, "ctxdma-destroy");
	struct context_device *cdev = ctx_dma_on_host(test, edu, parent, 0, 0);
	u8 *pattern, *back, *old;
	struct qemu_edu_buf *buf;
	dma_addr_t iova;

	ctx_dma_require_strict(test, cdev);
	pattern = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	back = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pattern);
	KUNIT_ASSERT_NOT_NULL(test, back);
	memset(pattern, 0x3c, CTX_DMA_LEN);

	buf = qemu_edu_kunit_map(test, &cdev->dev, PAGE_SIZE);
	iova = buf->iova;
	old = buf->cpu;
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu, &cdev->dev, iova, old,
							       CTX_DMA_LEN),
				    true, true, "a mapped buffer");
	qemu_edu_kunit_load(test, edu, &cdev->dev, pattern, CTX_DMA_LEN);
	qemu_edu_kunit_unmap(test, buf);
	ctx_dma_destroy(test, cdev);

	/* Writes: the old buffer keeps its canary. */
	memset(old, 0x5a, CTX_DMA_LEN);
	qemu_edu_kunit_dma(test, edu, iova, CTX_DMA_LEN, true);
	qemu_edu_kunit_dma(test, edu, virt_to_phys(old), CTX_DMA_LEN, true);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(old, 0x5a, CTX_DMA_LEN),
			      "a write of stream %#x after destroy landed", edu->sid);

	/* Reads: the edu reads zeros, not the buffer. */
	memset(old, 0x96, CTX_DMA_LEN);
	qemu_edu_kunit_dma(test, edu, iova, CTX_DMA_LEN, false);
	cdev = ctx_dma_on_host(test, edu, parent, 0, 0);
	qemu_edu_kunit_store(test, edu, &cdev->dev, back, CTX_DMA_LEN);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(back, 0, CTX_DMA_LEN),
			      "a read of stream %#x after destroy gave %*ph...", edu->sid, 8, back);
	qemu_edu_kunit_load(test, edu, &cdev->dev, pattern, CTX_DMA_LEN);
	ctx_dma_destroy(test, cdev);
	qemu_edu_kunit_dma(test, edu, virt_to_phys(old), CTX_DMA_LEN, false);
	cdev = ctx_dma_on_host(test, edu, parent, 0, 0);
	qemu_edu_kunit_store(test, edu, &cdev->dev, back, CTX_DMA_LEN);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(back, 0, CTX_DMA_LEN),
			      "a read of stream %#x after destroy gave %*ph...", edu->sid, 8, back);
}

static struct kunit_case context_bus_dma_test_cases[] = {
	KUNIT_CASE(context_bus_dma_round_trip),
	KUNIT_CASE(context_bus_dma_unmapped_iova_faults),
	KUNIT_CASE(context_bus_dma_identity_reaches_memory),
	KUNIT_CASE(context_bus_dma_contexts_are_isolated),
	KUNIT_CASE_PARAM(context_bus_dma_window, ctx_dma_window_gen_params),
	KUNIT_CASE(context_bus_dma_unmap_ends_reach),
	KUNIT_CASE(context_bus_dma_destroy_ends_reach),
	{}
};

static struct kunit_suite context_bus_dma_test_suite = {
	.name = "context_bus_dma",
	.test_cases = context_bus_dma_test_cases,
};

kunit_test_suite(context_bus_dma_test_suite);

MODULE_DESCRIPTION("KUnit tests of the context device bus with real DMA");
MODULE_LICENSE("GPL");
