// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the context device bus, written against the contract in
 * include/linux/context_bus.h: devices from both device-tree models land
 * on the bus with their own IOMMU group and DMA domain, IOVA windows hold
 * under exhaustion, every refusal returns its errno and leaves the bus as
 * it was, and destroy (plain or devm) gives the IOMMU context back.
 *
 * Needs a live SMMU: run under QEMU virt,iommu=smmuv3
 * (tools/testing/kunit/qemu_configs/arm64_smmuv3.py). Each case builds its
 * nodes at run time under a container /ctxbus-kunit-<sid>, so the OF core
 * creates no platform device that would claim the stream IDs first, and
 * uses stream IDs of its own.
 */

#include <kunit/device.h>
#include <kunit/context_bus.h>
#include <kunit/expect_stack_dump.h>
#include <kunit/iommu.h>
#include <kunit/of.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/bits.h>
#include <linux/context_bus.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/iommu.h>
#include <linux/kobject.h>
#include <linux/kthread.h>
#include <linux/limits.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/sizes.h>

/* First stream ID of each case; QEMU virt leaves 0x100 and up free. */
#define CTX_SID_MAP		0x200
#define CTX_SID_IOMMUS		0x210
#define CTX_SID_WIN_600_3500	0x220
#define CTX_SID_WIN_0_3500	0x230
#define CTX_SID_WIN_16_600	0x240
#define CTX_SID_NO_WINDOW	0x250
#define CTX_SID_REFUSAL		0x280	/* one per row of ctx_refusals[] */
#define CTX_SID_DUP		0x2a0
#define CTX_SID_SHARED		0x2b0
#define CTX_SID_DESTROY		0x2c0
#define CTX_SID_DEVM		0x2d0
#define CTX_SID_CYCLES		0x2e0
#define CTX_SID_NO_DRIVER	0x2f0
#define CTX_SID_EMPTY_WINDOW	0x2f8
#define CTX_SID_CONCURRENT	0x340	/* CTX_THREADS * 2 + CTX_DEVM_CONTEXTS */
#define CTX_SID_DMA_RANGES	0x350
#define CTX_SID_IDENTITY	0x358
#define CTX_SID_CONFIGURE	0x359
#define CTX_SID_WINDOW_API	0x35a
#define CTX_SID_FAULTS		0x360	/* one per case of ctx_fault_cases[] */
#define CTX_SID_RANGES		0x370	/* and 0x371 */

#define CTX_MB(n)		((u64)(n) * SZ_1M)
#define CTX_CYCLES		1000
#define CTX_THREADS		4
#define CTX_THREAD_CYCLES	100
#define CTX_DEVM_CONTEXTS	4

/* What one case works in: its container node, its parent device. */
struct ctx_env {
	u32 smmu;
	struct device_node *box;
	struct device *parent;
	u32 sid;
};

KUNIT_DEFINE_ACTION_WRAPPER(ctx_destroy_action, context_device_destroy,
			    struct context_device *);

/*
 * Start node @name under @parent in a changeset of its own; ctx_node_apply()
 * puts it in the live tree until the test ends.
 */
static struct device_node *ctx_node_new(struct kunit *test, struct device_node *parent,
					const char *name, struct of_changeset **ocs)
{
	struct device_node *np;

	*ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, *ocs);
	np = of_changeset_create_node(*ocs, parent, name);
	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	return np;
}

static void ctx_node_apply(struct kunit *test, struct of_changeset *ocs)
{
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));
}

static void ctx_env_init(struct kunit *test, struct ctx_env *env, u32 sid)
{
	struct of_changeset *ocs;
	char name[32];

	env->sid = sid;
	env->smmu = iommu_kunit_phandle(test);

	snprintf(name, sizeof(name), "ctxbus-kunit-%x", sid);
	env->box = ctx_node_new(test, of_root, name, &ocs);
	ctx_node_apply(test, ocs);

	snprintf(name, sizeof(name), "ctxbus-%x", sid);
	env->parent = kunit_device_register(test, name);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, env->parent);
}

/* Add node @name under the container, with the cell array @prop if not NULL. */
static struct device_node *ctx_add_node(struct kunit *test, struct ctx_env *env,
					const char *name, const char *prop,
					const u32 *cells, size_t len)
{
	struct of_changeset *ocs;
	struct device_node *np;

	np = ctx_node_new(test, env->box, name, &ocs);
	if (prop)
		KUNIT_ASSERT_EQ(test, 0,
				of_changeset_add_prop_u32_array(ocs, np, prop, cells, len));
	ctx_node_apply(test, ocs);
	return np;
}

/* Model A: node "map" whose iommu-map sends function i to SMMU stream @sids[i]. */
static struct device_node *ctx_add_map(struct kunit *test, struct ctx_env *env,
				       const u32 *sids, unsigned int n)
{
	unsigned int i;
	u32 *map;

	map = kunit_kmalloc_array(test, 4 * n, sizeof(*map), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, map);
	for (i = 0; i < n; i++) {
		map[4 * i] = i;
		map[4 * i + 1] = env->smmu;
		map[4 * i + 2] = sids[i];
		map[4 * i + 3] = 1;
	}
	return ctx_add_node(test, env, "map", "iommu-map", map, 4 * n);
}

/* Model B: node @name with iommus = <&iommu sid>. */
static struct device_node *ctx_add_client(struct kunit *test, struct ctx_env *env,
					  const char *name, u32 iommu, u32 sid)
{
	const u32 iommus[] = { iommu, sid };

	return ctx_add_node(test, env, name, "iommus", iommus, ARRAY_SIZE(iommus));
}

/*
 * Model B with a window in the device tree: node @name with
 * iommus = <&iommu sid> and iommu-ranges = @ranges, address and size pairs
 * of two cells each, which the container then says it uses.
 */
static struct device_node *ctx_add_ranged_client(struct kunit *test, struct ctx_env *env,
						 const char *name, const u32 *ranges, size_t len)
{
	const u32 iommus[] = { env->smmu, env->sid };
	struct of_changeset *ocs;
	struct device_node *np;

	np = ctx_node_new(test, env->box, name, &ocs);
	if (!of_property_present(env->box, "#address-cells")) {
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, env->box,
								   "#address-cells", 2));
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, env->box,
								   "#size-cells", 2));
	}
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, np, "iommus", iommus,
								 ARRAY_SIZE(iommus)));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, np, "iommu-ranges", ranges,
								 len));
	ctx_node_apply(test, ocs);
	return np;
}

/* iommu-ranges of one range, 16M-32M. */
static const u32 ctx_range_16m_32m[] = { 0, SZ_16M, 0, SZ_16M };

/* Create a device that must succeed; it is destroyed when the test ends. */
static struct context_device *ctx_create(struct kunit *test, struct device *parent,
					 const struct context_device_info *info)
{
	struct context_device *cdev = context_device_create(parent, info);

	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, cdev, "%pOF fn %u: %pe",
					 info->np, info->fn_id, cdev);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ctx_destroy_action, cdev));
	return cdev;
}

static void ctx_destroy(struct kunit *test, struct context_device *cdev)
{
	kunit_release_action(test, ctx_destroy_action, cdev);
}

/* Everything context_device_create() promises about the device it returns. */
static void ctx_expect_usable(struct kunit *test, struct context_device *cdev,
			      struct device *parent, const struct context_device_info *info)
{
	struct device *dev = &cdev->dev;
	struct iommu_domain *domain;
	char name[96];

	KUNIT_EXPECT_PTR_EQ(test, dev->bus, &context_device_bus_type);
	KUNIT_EXPECT_TRUE(test, dev_is_context_device(dev));
	KUNIT_EXPECT_PTR_EQ(test, dev->parent, parent);
	if (info->name)
		strscpy(name, info->name);
	else
		snprintf(name, sizeof(name), "%s:ctx.%u", dev_name(parent), info->fn_id);
	KUNIT_EXPECT_STREQ(test, dev_name(dev), name);
	KUNIT_EXPECT_EQ(test, dma_get_mask(dev), info->dma_mask);
	KUNIT_EXPECT_EQ(test, dev->coherent_dma_mask, info->dma_mask);

	KUNIT_ASSERT_TRUE_MSG(test, device_iommu_mapped(dev), "%s has no IOMMU group",
			      dev_name(dev));
	domain = iommu_get_domain_for_dev(dev);
	KUNIT_ASSERT_NOT_NULL(test, domain);
	KUNIT_EXPECT_TRUE(test, domain->type & __IOMMU_DOMAIN_DMA_API);
}

/* One page through the DMA API must land in the device's IOMMU page table. */
static void ctx_expect_maps(struct kunit *test, struct context_device *cdev,
			    const struct context_device_info *info)
{
	struct device *dev = &cdev->dev;
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);
	dma_addr_t iova;
	void *buf;

	KUNIT_ASSERT_NOT_NULL(test, domain);
	buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);

	/* Only EXPECT from here to the unmap, so the mapping cannot leak. */
	iova = dma_map_single(dev, buf, PAGE_SIZE, DMA_TO_DEVICE);
	KUNIT_EXPECT_FALSE(test, dma_mapping_error(dev, iova));
	if (dma_mapping_error(dev, iova))
		return;
	KUNIT_EXPECT_EQ(test, iommu_iova_to_phys(domain, iova), virt_to_phys(buf));
	KUNIT_EXPECT_LE(test, (u64)iova + PAGE_SIZE - 1, info->dma_mask);
	if (info->iova_size) {
		KUNIT_EXPECT_GE(test, (u64)iova, info->iova_start);
		KUNIT_EXPECT_LE(test, (u64)iova + PAGE_SIZE, info->iova_start + info->iova_size);
	}
	dma_unmap_single(dev, iova, PAGE_SIZE, DMA_TO_DEVICE);
}

static void ctx_expect_own_groups(struct kunit *test, struct device *a, struct device *b)
{
	struct iommu_group *ga = iommu_group_get(a);
	struct iommu_group *gb = iommu_group_get(b);

	KUNIT_EXPECT_NOT_NULL(test, ga);
	KUNIT_EXPECT_NOT_NULL(test, gb);
	KUNIT_EXPECT_PTR_NE(test, ga, gb);
	KUNIT_EXPECT_PTR_NE(test, iommu_get_domain_for_dev(a), iommu_get_domain_for_dev(b));
	iommu_group_put(ga);
	iommu_group_put(gb);
}

/* The call must fail with @err, or @alt, and leave the bus as it was. */
static void ctx_expect_refusal_of(struct kunit *test, struct device *parent,
				  const struct context_device_info *info, int err, int alt)
{
	unsigned int before = context_bus_kunit_count(NULL);
	s64 seqnum = atomic64_read(&uevent_seqnum);
	struct context_device *cdev = context_device_create(parent, info);

	if (!IS_ERR_OR_NULL(cdev)) {
		KUNIT_FAIL(test, "created %s, expected %d", dev_name(&cdev->dev), err);
		KUNIT_ASSERT_EQ(test, 0,
				kunit_add_action_or_reset(test, ctx_destroy_action, cdev));
		return;
	}
	KUNIT_EXPECT_TRUE_MSG(test, IS_ERR(cdev), "got NULL, expected %d", err);
	if (PTR_ERR(cdev) != alt)
		KUNIT_EXPECT_EQ_MSG(test, PTR_ERR(cdev), (long)err, "got %pe", cdev);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
	/*
	 * Nobody heard of the refused device: no KOBJ_ADD, no KOBJ_REMOVE.
	 * With DEBUG_KOBJECT_RELEASE the delayed releases of earlier tests
	 * send uevents of their own at any time: only a kernel without it
	 * tells.
	 */
	if (!IS_ENABLED(CONFIG_DEBUG_KOBJECT_RELEASE))
		KUNIT_EXPECT_EQ(test, atomic64_read(&uevent_seqnum), seqnum);
}

/* The call must fail with @err and leave the bus as it was. */
static void ctx_expect_refusal(struct kunit *test, struct device *parent,
			       const struct context_device_info *info, int err)
{
	ctx_expect_refusal_of(test, parent, info, err, err);
}

/*
 * Fill @dev's IOVA space with 1 MiB mappings: every IOVA must lie in
 * [@start, @start + @size) and the mappings must fill the range.
 */
static struct iommu_kunit_fill *ctx_expect_fills(struct kunit *test, struct device *dev,
						 u64 start, u64 size)
{
	unsigned int slots = size / SZ_1M;
	struct iommu_kunit_fill *fill;

	/* A window that does not hold stops a little past its size. */
	fill = iommu_kunit_fill_iova(test, dev, slots + 16);
	kunit_info(test, "IOVA [%#llx, %#llx): %u maps of 1 MiB, lowest %#llx, highest %#llx (last byte %#llx)\n",
		   start, start + size, fill->count, (u64)fill->lowest, (u64)fill->highest,
		   (u64)fill->highest + SZ_1M - 1);
	KUNIT_ASSERT_GT(test, fill->count, 0);
	KUNIT_EXPECT_GE(test, fill->lowest, start);
	KUNIT_EXPECT_LE(test, fill->highest + SZ_1M, start + size);
	/* IOVA page 0 and alignment at the edges may cost a slot or two. */
	KUNIT_EXPECT_LE(test, fill->count, slots);
	KUNIT_EXPECT_GE(test, fill->count, slots - slots / 100);
	return fill;
}

/* A device with window [@start, @start + @size), or none if @size is 0, filled up. */
static struct iommu_kunit_fill *ctx_window_case(struct kunit *test, u32 sid, u64 mask,
						u64 start, u64 size)
{
	struct context_device_info info = {
		.dma_mask = mask,
		.iova_start = start,
		.iova_size = size,
	};
	struct context_device *cdev;
	struct ctx_env env;

	ctx_env_init(test, &env, sid);
	info.np = ctx_add_map(test, &env, &env.sid, 1);
	cdev = ctx_create(test, env.parent, &info);
	ctx_expect_usable(test, cdev, env.parent, &info);
	if (size)
		return ctx_expect_fills(test, &cdev->dev, start, size);
	return ctx_expect_fills(test, &cdev->dev, 0, mask + 1);
}

static void context_bus_iommu_map_devices_are_isolated(struct kunit *test)
{
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	struct context_device *c0, *c1;
	struct ctx_env env;
	u32 sids[2];

	ctx_env_init(test, &env, CTX_SID_MAP);
	sids[0] = env.sid;
	sids[1] = env.sid + 1;
	info.np = ctx_add_map(test, &env, sids, ARRAY_SIZE(sids));

	info.fn_id = 0;
	c0 = ctx_create(test, env.parent, &info);
	ctx_expect_usable(test, c0, env.parent, &info);
	ctx_expect_maps(test, c0, &info);

	info.fn_id = 1;
	c1 = ctx_create(test, env.parent, &info);
	ctx_expect_usable(test, c1, env.parent, &info);
	ctx_expect_maps(test, c1, &info);

	ctx_expect_own_groups(test, &c0->dev, &c1->dev);
	KUNIT_EXPECT_FALSE(test, dev_is_context_device(env.parent));
	KUNIT_EXPECT_FALSE(test, dev_is_context_device(NULL));
}

static void context_bus_iommus_devices_are_isolated(struct kunit *test)
{
	struct context_device_info a = { .fn_id = 0, .dma_mask = DMA_BIT_MASK(40) };
	struct context_device_info b = { .fn_id = 1, .dma_mask = DMA_BIT_MASK(40) };
	struct context_device *ca, *cb;
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_IOMMUS);
	a.np = ctx_add_client(test, &env, "ctx-a", env.smmu, env.sid);
	b.np = ctx_add_client(test, &env, "ctx-b", env.smmu, env.sid + 1);

	ca = ctx_create(test, env.parent, &a);
	ctx_expect_usable(test, ca, env.parent, &a);
	ctx_expect_maps(test, ca, &a);

	cb = ctx_create(test, env.parent, &b);
	ctx_expect_usable(test, cb, env.parent, &b);
	ctx_expect_maps(test, cb, &b);

	ctx_expect_own_groups(test, &ca->dev, &cb->dev);
}

static void context_bus_window_600m_3500m(struct kunit *test)
{
	ctx_window_case(test, CTX_SID_WIN_600_3500, DMA_BIT_MASK(32),
			CTX_MB(600), CTX_MB(3500) - CTX_MB(600));
}

static void context_bus_window_0_3500m(struct kunit *test)
{
	ctx_window_case(test, CTX_SID_WIN_0_3500, DMA_BIT_MASK(32),
			0, CTX_MB(3500));
}

static void context_bus_window_16m_600m(struct kunit *test)
{
	ctx_window_case(test, CTX_SID_WIN_16_600, DMA_BIT_MASK(32),
			CTX_MB(16), CTX_MB(600) - CTX_MB(16));
}

/* No window: the whole DMA mask; 30 bits keep the exhaustion short. */
static void context_bus_no_window_spans_dma_mask(struct kunit *test)
{
	struct iommu_kunit_fill *fill;

	fill = ctx_window_case(test, CTX_SID_NO_WINDOW, DMA_BIT_MASK(30), 0, 0);
	KUNIT_EXPECT_GE(test, fill->highest + SZ_1M, (u64)SZ_1G - SZ_1G / 100);
}

/* The arguments of one refused call; @info points to @buf unless NULL. */
struct ctx_call {
	struct device *parent;
	const struct context_device_info *info;
	struct context_device_info buf;
	int alt;	/* a refusal accepted too, where the table's is not the only one */
};

/*
 * One refusal: @setup spoils a valid call to a one-function iommu-map;
 * @after, if set, checks what the refusal must have left alone.
 */
struct ctx_refusal {
	const char *desc;
	int err;
	void (*setup)(struct kunit *test, struct ctx_env *env, struct ctx_call *call);
	void (*after)(struct kunit *test, struct ctx_env *env, struct ctx_call *call);
};

static void ctx_null_parent(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->parent = NULL;
}

static void ctx_null_info(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->info = NULL;
}

static void ctx_null_np(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.np = NULL;
}

static void ctx_zero_mask(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.dma_mask = 0;
}

/* 2 KiB is off every IOVA granule an IOMMU uses. */
static void ctx_unaligned_start(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.iova_start = SZ_16M + SZ_2K;
	call->buf.iova_size = SZ_16M;
}

static void ctx_unaligned_size(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.iova_start = SZ_16M;
	call->buf.iova_size = SZ_16M + SZ_2K;
}

/* One entry of three cells, where iommu-map needs four. */
static void ctx_malformed_map(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	const u32 map[] = { 0, env->smmu, env->sid };

	call->buf.np = ctx_add_node(test, env, "bad-map", "iommu-map", map, ARRAY_SIZE(map));
}

/* Aligned, and with a 64-bit mask nothing but the sum is wrong. */
static void ctx_overflow(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.dma_mask = DMA_BIT_MASK(64);
	call->buf.iova_start = U64_MAX - SZ_1M + 1;
	call->buf.iova_size = SZ_2M;
}

static void ctx_beyond_mask(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.iova_start = 3ULL * SZ_1G;
	call->buf.iova_size = 2ULL * SZ_1G;
}

/* No SMMU input range reaches 2^56 (stage 1 takes at most 52 bits). */
static void ctx_beyond_aperture(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.dma_mask = DMA_BIT_MASK(64);
	call->buf.iova_start = BIT_ULL(56);
	call->buf.iova_size = SZ_1M;
}

static void ctx_no_iommu_prop(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.np = ctx_add_node(test, env, "bare", NULL, NULL, 0);
}

static void ctx_unmapped_fn(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.fn_id = 7;
}

static void ctx_absent_iommu(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.np = ctx_add_client(test, env, "orphan", iommu_kunit_absent_phandle(test),
				      env->sid);
}

static void ctx_map_phandle_zero(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	const u32 map[] = { 0, 0, env->sid, 1 };

	call->buf.np = ctx_add_node(test, env, "map-0", "iommu-map", map, ARRAY_SIZE(map));
}

static void ctx_map_not_iommu(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	const u32 map[] = { 0, iommu_kunit_phandle_node(test, false), env->sid, 1 };

	call->buf.np = ctx_add_node(test, env, "map-x", "iommu-map", map, ARRAY_SIZE(map));
	/*
	 * No IOMMU driver has registered the node: in a kernel with modules
	 * one may yet, so the IOMMU core defers, as it would for any device,
	 * until its deferred probe timeout, which comes 10 s after the last
	 * driver registered and so at no time a test can tell. The bus passes
	 * the deferral on, and refuses with -ENODEV once the core gives up.
	 */
	if (IS_ENABLED(CONFIG_MODULES))
		call->alt = -EPROBE_DEFER;
}

static void ctx_map_length_zero(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	const u32 map[] = { 0, env->smmu, env->sid, 0 };

	call->buf.np = ctx_add_node(test, env, "map-len0", "iommu-map", map, ARRAY_SIZE(map));
}

/* Ids 0xffffff00 and up, 0x200 of them: the last 0x100 would wrap to 0. */
static void ctx_map_wraps(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	const u32 map[] = { 0xffffff00, env->smmu, env->sid, 0x200 };

	call->buf.np = ctx_add_node(test, env, "map-wrap", "iommu-map", map, ARRAY_SIZE(map));
	call->buf.fn_id = 0x10;
}

/* QEMU's SMMUv3 has 16-bit stream IDs. */
static void ctx_sid_beyond_smmu(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	const u32 map[] = { 0, env->smmu, 0x10000, 1 };

	call->buf.np = ctx_add_node(test, env, "map-far", "iommu-map", map, ARRAY_SIZE(map));
}

/* The SMMU takes one cell, the node gives none. */
static void ctx_iommus_short(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	const u32 iommus[] = { env->smmu };

	call->buf.np = ctx_add_node(test, env, "short", "iommus", iommus, ARRAY_SIZE(iommus));
}

/* sysfs would make "a!b" of "a/b": two names the bus would take for two. */
static void ctx_name_slash(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.name = "ctxbus-kunit/slash";
}

static void ctx_name_empty(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.name = "";
}

static void ctx_unknown_flags(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.flags = BIT(31);
}

/* The last byte of the window is the last of the 64-bit space: beyond any aperture. */
static void ctx_window_at_2_64(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	call->buf.dma_mask = DMA_BIT_MASK(64);
	call->buf.iova_start = U64_MAX - SZ_1M + 1;
	call->buf.iova_size = SZ_1M;
}

/* Two functions on one stream: the first is a live context device. */
static void ctx_second_on_stream(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	const u32 sids[] = { env->sid, env->sid };
	struct context_device *first;

	call->buf.np = ctx_add_map(test, env, sids, ARRAY_SIZE(sids));
	first = ctx_create(test, env->parent, &call->buf);
	ctx_expect_usable(test, first, env->parent, &call->buf);
	call->buf.fn_id = 1;
}

static void ctx_first_still_maps(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	struct context_device_info info = call->buf;
	struct device *dev;
	char name[96];

	info.fn_id = 0;
	snprintf(name, sizeof(name), "%s:ctx.0", dev_name(env->parent));
	dev = bus_find_device_by_name(&context_device_bus_type, NULL, name);
	KUNIT_ASSERT_NOT_NULL(test, dev);
	ctx_expect_usable(test, to_context_device(dev), env->parent, &info);
	ctx_expect_maps(test, to_context_device(dev), &info);
	put_device(dev);
}

/* iommu-ranges = @cells on a node of model B, in the root's two and two cells. */
static void ctx_ranges(struct kunit *test, struct ctx_env *env, struct ctx_call *call,
		       const u32 *cells, size_t len)
{
	call->buf.np = ctx_add_ranged_client(test, env, "ranged", cells, len);
}

static void ctx_ranges_partial(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	static const u32 cells[] = { 0, SZ_16M, 0 };

	ctx_ranges(test, env, call, cells, ARRAY_SIZE(cells));
}

static void ctx_ranges_empty(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	static const u32 cells[] = { 0, SZ_16M, 0, 0 };

	ctx_ranges(test, env, call, cells, ARRAY_SIZE(cells));
}

static void ctx_ranges_wrap(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	static const u32 cells[] = { 0xffffffff, 0xfff00000, 0, SZ_2M };

	ctx_ranges(test, env, call, cells, ARRAY_SIZE(cells));
}

static void ctx_ranges_overlap(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	static const u32 cells[] = { 0, SZ_16M, 0, SZ_16M, 0, SZ_16M + SZ_8M, 0, SZ_16M };

	ctx_ranges(test, env, call, cells, ARRAY_SIZE(cells));
}

static void ctx_ranges_beyond_mask(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	static const u32 cells[] = { 1, 0, 0, SZ_16M };

	ctx_ranges(test, env, call, cells, ARRAY_SIZE(cells));
}

/* The SMMU's 48-bit aperture ends below 2^56. */
static void ctx_ranges_beyond_aperture(struct kunit *test, struct ctx_env *env,
				       struct ctx_call *call)
{
	static const u32 cells[] = { 0x1000000, 0, 0, SZ_16M };

	call->buf.dma_mask = DMA_BIT_MASK(64);
	ctx_ranges(test, env, call, cells, ARRAY_SIZE(cells));
}

static void ctx_ranges_unaligned(struct kunit *test, struct ctx_env *env, struct ctx_call *call)
{
	static const u32 cells[] = { 0, SZ_16M + SZ_2K, 0, SZ_16M };

	ctx_ranges(test, env, call, cells, ARRAY_SIZE(cells));
}

/* A window in code that none of the node's ranges meets. */
static void ctx_ranges_miss_window(struct kunit *test, struct ctx_env *env,
				   struct ctx_call *call)
{
	static const u32 cells[] = { 0, SZ_16M, 0, SZ_16M };

	ctx_ranges(test, env, call, cells, ARRAY_SIZE(cells));
	call->buf.iova_start = SZ_64M;
	call->buf.iova_size = SZ_16M;
}

static const struct ctx_refusal ctx_refusals[] = {
	{ "NULL parent", -EINVAL, ctx_null_parent },
	{ "NULL info", -EINVAL, ctx_null_info },
	{ "NULL np", -EINVAL, ctx_null_np },
	{ "zero dma_mask", -EINVAL, ctx_zero_mask },
	{ "window start not aligned", -EINVAL, ctx_unaligned_start },
	{ "window size not aligned", -EINVAL, ctx_unaligned_size },
	{ "malformed iommu-map", -EINVAL, ctx_malformed_map },
	{ "window end overflows", -EOVERFLOW, ctx_overflow },
	{ "window outside dma_mask", -ERANGE, ctx_beyond_mask },
	{ "window outside IOMMU aperture", -ERANGE, ctx_beyond_aperture },
	{ "neither iommu-map nor iommus", -ENOENT, ctx_no_iommu_prop },
	{ "fn_id not in iommu-map", -ENXIO, ctx_unmapped_fn },
	{ "iommus to a disabled IOMMU", -ENODEV, ctx_absent_iommu },
	{ "iommu-map phandle 0", -EINVAL, ctx_map_phandle_zero },
	{ "iommu-map to a node that is no IOMMU", -ENODEV, ctx_map_not_iommu },
	{ "iommu-map entry of length 0", -ENXIO, ctx_map_length_zero },
	{ "fn_id where id + length wraps past 2^32", -ENXIO, ctx_map_wraps },
	{ "stream ID beyond the IOMMU's range", -ENODEV, ctx_sid_beyond_smmu },
	{ "iommus without its cell", -ENODEV, ctx_iommus_short },
	{ "unknown flag", -EINVAL, ctx_unknown_flags },
	{ "name with a '/'", -EINVAL, ctx_name_slash },
	{ "empty name", -EINVAL, ctx_name_empty },
	{ "window ending at 2^64", -ERANGE, ctx_window_at_2_64 },
	{ "second context on one stream", -ENODEV, ctx_second_on_stream, ctx_first_still_maps },
	{ "iommu-ranges not whole entries", -EINVAL, ctx_ranges_partial },
	{ "iommu-ranges of size 0", -EINVAL, ctx_ranges_empty },
	{ "iommu-ranges past 2^64", -EOVERFLOW, ctx_ranges_wrap },
	{ "overlapping iommu-ranges", -EINVAL, ctx_ranges_overlap },
	{ "iommu-ranges outside dma_mask", -ERANGE, ctx_ranges_beyond_mask },
	{ "iommu-ranges outside IOMMU aperture", -ERANGE, ctx_ranges_beyond_aperture },
	{ "iommu-ranges not aligned", -EINVAL, ctx_ranges_unaligned },
	{ "window outside iommu-ranges", -ERANGE, ctx_ranges_miss_window },
};

static_assert(ARRAY_SIZE(ctx_refusals) <= CTX_SID_DUP - CTX_SID_REFUSAL);

KUNIT_ARRAY_PARAM_DESC(ctx_refusal, ctx_refusals, desc);

static void context_bus_refusal(struct kunit *test)
{
	const struct ctx_refusal *r = test->param_value;
	struct ctx_env env;
	struct ctx_call call = {};

	ctx_env_init(test, &env, CTX_SID_REFUSAL + (r - ctx_refusals));
	call.parent = env.parent;
	call.buf.np = ctx_add_map(test, &env, &env.sid, 1);
	call.buf.dma_mask = DMA_BIT_MASK(32);
	call.info = &call.buf;
	r->setup(test, &env, &call);
	ctx_expect_refusal_of(test, call.parent, call.info, r->err, call.alt ?: r->err);
	if (r->after)
		r->after(test, &env, &call);
}

static void context_bus_duplicate_name_refused(struct kunit *test)
{
	struct context_device_info info = {
		.name = "ctxbus-kunit-dup",
		.dma_mask = DMA_BIT_MASK(32),
	};
	struct context_device *first, *second;
	struct ctx_env env;
	struct device *dev;
	u32 sids[2];

	ctx_env_init(test, &env, CTX_SID_DUP);
	sids[0] = env.sid;
	sids[1] = env.sid + 1;
	info.np = ctx_add_map(test, &env, sids, ARRAY_SIZE(sids));
	first = ctx_create(test, env.parent, &info);

	/* Another function, so the name is the only conflict. */
	info.fn_id = 1;
	ctx_expect_refusal(test, env.parent, &info, -EEXIST);

	/* The first device keeps its name and its IOMMU context. */
	dev = bus_find_device_by_name(&context_device_bus_type, NULL, info.name);
	KUNIT_EXPECT_PTR_EQ(test, dev, &first->dev);
	put_device(dev);
	info.fn_id = 0;
	ctx_expect_usable(test, first, env.parent, &info);
	ctx_expect_maps(test, first, &info);

	/* The refused one left nothing behind, not even its stream ID. */
	info.fn_id = 1;
	info.name = NULL;
	second = ctx_create(test, env.parent, &info);
	ctx_expect_usable(test, second, env.parent, &info);
}

/*
 * Devices of one IOMMU group share one IOVA space and one domain: a
 * sibling is accepted only if both ask for it with
 * CONTEXT_DEVICE_SHARE_GROUP and the windows are the same. Functions 0-2
 * all map to one stream ID to put them in one group.
 */
static void context_bus_shared_group_needs_same_window(struct kunit *test)
{
	struct context_device_info info = {
		.dma_mask = DMA_BIT_MASK(32),
		.iova_start = SZ_16M,
		.iova_size = SZ_256M,
		.flags = CONTEXT_DEVICE_SHARE_GROUP,
	};
	struct context_device *first, *twin;
	struct iommu_group *g0, *g1;
	unsigned int before;
	struct ctx_env env;
	bool shared;
	u32 sids[3];

	ctx_env_init(test, &env, CTX_SID_SHARED);
	sids[0] = env.sid;
	sids[1] = env.sid;
	sids[2] = env.sid;
	info.np = ctx_add_map(test, &env, sids, ARRAY_SIZE(sids));
	first = ctx_create(test, env.parent, &info);

	info.fn_id = 1;
	before = context_bus_kunit_count(NULL);
	twin = context_device_create(env.parent, &info);
	if (IS_ERR_OR_NULL(twin)) {
		/*
		 * arm-smmu-v3 gives each non-PCI device a group of its own and
		 * refuses a second master on a stream ID (arm_smmu_insert_master()),
		 * so two context devices never share a group there. Check that the
		 * refusal changed nothing (ASSERT: a skip would hide an EXPECT).
		 */
		KUNIT_ASSERT_TRUE(test, IS_ERR(twin));
		KUNIT_ASSERT_EQ(test, context_bus_kunit_count(NULL), before);
		KUNIT_ASSERT_TRUE(test, device_iommu_mapped(&first->dev));
		kunit_skip(test, "IOMMU refused a 2nd device on stream %#x (%pe): no shared group",
			   env.sid, twin);
	}
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ctx_destroy_action, twin));

	g0 = iommu_group_get(&first->dev);
	g1 = iommu_group_get(&twin->dev);
	shared = g0 && g0 == g1;
	iommu_group_put(g0);
	iommu_group_put(g1);
	KUNIT_ASSERT_TRUE_MSG(test, shared, "stream %#x gave two groups", env.sid);

	/* The same window, but not asked for: one context per group. */
	info.fn_id = 2;
	info.flags = 0;
	ctx_expect_refusal(test, env.parent, &info, -EBUSY);
	info.flags = CONTEXT_DEVICE_SHARE_GROUP;
	info.iova_start = SZ_512M;
	ctx_expect_refusal(test, env.parent, &info, -EBUSY);
}

/* A destroyed device gives its stream ID back at once. */
static void context_bus_destroy_releases_iommu(struct kunit *test)
{
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	struct context_device *cdev;
	struct iommu_group *group;
	unsigned int before;
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_DESTROY);
	info.np = ctx_add_map(test, &env, &env.sid, 1);
	before = context_bus_kunit_count(NULL);

	cdev = ctx_create(test, env.parent, &info);
	ctx_expect_usable(test, cdev, env.parent, &info);
	ctx_destroy(test, cdev);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);

	cdev = ctx_create(test, env.parent, &info);
	group = iommu_group_get(&cdev->dev);
	KUNIT_EXPECT_NOT_NULL(test, group);
	iommu_group_put(group);
	ctx_expect_usable(test, cdev, env.parent, &info);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before + 1);
}

static void context_bus_devm_goes_with_parent(struct kunit *test)
{
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	struct context_device *cdev;
	unsigned int before;
	struct ctx_env env;
	struct device *dev;
	char name[96];

	ctx_env_init(test, &env, CTX_SID_DEVM);
	info.np = ctx_add_map(test, &env, &env.sid, 1);
	before = context_bus_kunit_count(NULL);

	/* Owned by the parent from here: its unregistration is the cleanup. */
	cdev = devm_context_device_create(env.parent, &info);
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, cdev, "%pe", cdev);
	ctx_expect_usable(test, cdev, env.parent, &info);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before + 1);
	strscpy(name, dev_name(&cdev->dev));

	kunit_device_unregister(test, env.parent);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
	dev = bus_find_device_by_name(&context_device_bus_type, NULL, name);
	KUNIT_EXPECT_NULL(test, dev);
	put_device(dev);
}

static void context_bus_create_destroy_cycles(struct kunit *test)
{
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	struct context_device *cdev;
	unsigned int before, i;
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_CYCLES);
	info.np = ctx_add_map(test, &env, &env.sid, 1);
	before = context_bus_kunit_count(NULL);

	for (i = 0; i < CTX_CYCLES; i++) {
		cdev = ctx_create(test, env.parent, &info);
		KUNIT_ASSERT_TRUE_MSG(test, device_iommu_mapped(&cdev->dev), "cycle %u", i);
		ctx_destroy(test, cdev);
	}
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
}

/* A window may end at the top of the IOMMU's aperture, and lie above 4 GiB. */
static void context_bus_window_at_top_of_aperture(struct kunit *test)
{
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(64) };
	struct context_device *probe, *cdev;
	struct ctx_env env;
	u64 end;

	ctx_env_init(test, &env, CTX_SID_EMPTY_WINDOW);
	info.np = ctx_add_map(test, &env, &env.sid, 1);

	/* The aperture is the IOMMU's: ask a window-less device for it. */
	probe = ctx_create(test, env.parent, &info);
	end = iommu_get_domain_for_dev(&probe->dev)->geometry.aperture_end;
	ctx_destroy(test, probe);
	kunit_info(test, "aperture ends at %#llx\n", end);
	KUNIT_ASSERT_GT(test, end, (u64)SZ_4G);

	info.iova_start = end - SZ_16M + 1;
	info.iova_size = SZ_16M;
	cdev = ctx_create(test, env.parent, &info);
	ctx_expect_usable(test, cdev, env.parent, &info);
	ctx_expect_fills(test, &cdev->dev, info.iova_start, info.iova_size);
}

static void context_bus_window_above_4g(struct kunit *test)
{
	ctx_window_case(test, CTX_SID_EMPTY_WINDOW + 1, DMA_BIT_MASK(64), SZ_4G, SZ_64M);
}

/* Size 0 is no window, whatever the start says. */
static void context_bus_zero_size_is_no_window(struct kunit *test)
{
	struct context_device_info info = {
		.dma_mask = DMA_BIT_MASK(30),
		.iova_start = SZ_16M,
	};
	struct iommu_kunit_fill *fill;
	struct context_device *cdev;
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_EMPTY_WINDOW + 2);
	info.np = ctx_add_map(test, &env, &env.sid, 1);
	cdev = ctx_create(test, env.parent, &info);
	KUNIT_EXPECT_NULL(test, cdev->dev.dma_range_map);
	fill = ctx_expect_fills(test, &cdev->dev, 0, SZ_1G);
	KUNIT_EXPECT_LT(test, fill->lowest, (dma_addr_t)SZ_16M);
}

/*
 * A node removed from the live tree while its context device lives: the
 * device keeps its reference, works on, and goes cleanly.
 */
static void context_bus_node_removed_under_live_device(struct kunit *test)
{
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	struct context_device *cdev;
	struct of_changeset ocs;
	struct device_node *np;
	unsigned int before;
	struct ctx_env env;
	u32 iommus[2];

	ctx_env_init(test, &env, CTX_SID_EMPTY_WINDOW + 3);
	iommus[0] = env.smmu;
	iommus[1] = env.sid;
	of_changeset_init(&ocs);
	np = of_changeset_create_node(&ocs, env.box, "doomed");
	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(&ocs, np, "iommus", iommus,
								 ARRAY_SIZE(iommus)));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply(&ocs));
	before = context_bus_kunit_count(NULL);

	info.np = np;
	cdev = context_device_create(env.parent, &info);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, cdev);
	KUNIT_EXPECT_EQ(test, 0, of_changeset_revert(&ocs));
	of_changeset_destroy(&ocs);
	if (IS_ERR_OR_NULL(cdev))
		return;

	KUNIT_EXPECT_TRUE(test, of_node_check_flag(cdev->dev.of_node, OF_DETACHED));
	ctx_expect_usable(test, cdev, env.parent, &info);
	ctx_expect_maps(test, cdev, &info);
	context_device_destroy(cdev);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
}

struct ctx_counting_driver {
	struct device_driver drv;
	atomic_t probes;
};

static int ctx_counting_probe(struct device *dev)
{
	struct ctx_counting_driver *d = container_of(dev->driver, struct ctx_counting_driver, drv);

	atomic_inc(&d->probes);
	return 0;
}

KUNIT_DEFINE_ACTION_WRAPPER(ctx_driver_unregister, driver_unregister, struct device_driver *);

/*
 * No driver ever binds to a context device: a driver registered on the bus
 * matches nothing, before or after the device exists, and the bus's
 * callbacks refuse devices that are not context devices.
 */
static void context_bus_no_driver_binds(struct kunit *test)
{
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	struct ctx_counting_driver *d;
	struct context_device *cdev;
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_NO_DRIVER);
	info.np = ctx_add_map(test, &env, &env.sid, 1);

	d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	d->drv.name = "ctxbus-kunit-driver";
	d->drv.bus = &context_device_bus_type;
	d->drv.probe = ctx_counting_probe;
	KUNIT_ASSERT_EQ(test, 0, driver_register(&d->drv));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, ctx_driver_unregister, &d->drv));

	cdev = ctx_create(test, env.parent, &info);
	KUNIT_EXPECT_NULL(test, cdev->dev.driver);
	KUNIT_EXPECT_EQ(test, device_attach(&cdev->dev), 0);
	KUNIT_EXPECT_NULL(test, cdev->dev.driver);
	KUNIT_EXPECT_EQ(test, atomic_read(&d->probes), 0);
	ctx_expect_usable(test, cdev, env.parent, &info);

	/* A device of another bus is not taken for a context device. */
	KUNIT_EXPECT_FALSE(test, dev_is_context_device(env.parent));
	KUNIT_EXPECT_EQ(test, context_device_bus_type.dma_configure(env.parent), -ENODEV);
}

/* What one thread of context_bus_concurrent() does, and what it saw. */
struct ctx_thread {
	struct device *parent;
	struct context_device_info info;
	atomic_t *alive;		/* devices of the contested name alive at once */
	struct completion done;
	unsigned int created;
	unsigned int refused;		/* with -EEXIST, the only refusal allowed */
	unsigned int failed;		/* any other error, or two alive at once */
	long first_err;
};

static int ctx_thread_fn(void *data)
{
	struct ctx_thread *t = data;
	struct context_device *cdev;
	unsigned int i;

	for (i = 0; i < CTX_THREAD_CYCLES; i++) {
		cdev = context_device_create(t->parent, &t->info);
		if (IS_ERR(cdev)) {
			if (t->alive && PTR_ERR(cdev) == -EEXIST) {
				t->refused++;
			} else {
				t->failed++;
				t->first_err = t->first_err ?: PTR_ERR(cdev);
			}
			cond_resched();
			continue;
		}
		t->created++;
		if (t->alive && atomic_inc_return(t->alive) > 1)
			t->failed++;
		if (!device_iommu_mapped(&cdev->dev))
			t->failed++;
		if (t->alive)
			atomic_dec(t->alive);
		context_device_destroy(cdev);
	}
	complete(&t->done);
	return 0;
}

/*
 * CTX_THREADS threads create and destroy contexts of their own, as many
 * contest one name (never two alive, every refusal -EEXIST), and a parent
 * with devm contexts is unbound meanwhile.
 */
static void context_bus_concurrent(struct kunit *test)
{
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	u32 sids[CTX_THREADS * 2 + CTX_DEVM_CONTEXTS];
	struct ctx_thread *threads;
	struct task_struct *task;
	unsigned int before, i;
	struct device *devm_parent;
	struct context_device *cdev;
	struct device_node *np;
	atomic_t alive = ATOMIC_INIT(0);
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_CONCURRENT);
	for (i = 0; i < ARRAY_SIZE(sids); i++)
		sids[i] = env.sid + i;
	np = ctx_add_map(test, &env, sids, ARRAY_SIZE(sids));
	before = context_bus_kunit_count(NULL);

	devm_parent = kunit_device_register(test, "ctxbus-devm-parent");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, devm_parent);
	info.np = np;
	for (i = 0; i < CTX_DEVM_CONTEXTS; i++) {
		info.fn_id = CTX_THREADS * 2 + i;
		cdev = devm_context_device_create(devm_parent, &info);
		KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, cdev, "%pe", cdev);
	}

	threads = kunit_kcalloc(test, CTX_THREADS * 2, sizeof(*threads), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, threads);
	for (i = 0; i < CTX_THREADS * 2; i++) {
		struct ctx_thread *t = &threads[i];

		t->parent = env.parent;
		t->info = info;
		t->info.fn_id = i;
		/* The second half contest one name. */
		if (i >= CTX_THREADS) {
			t->info.name = "ctxbus-kunit-contested";
			t->alive = &alive;
		}
		init_completion(&t->done);
		task = kthread_run(ctx_thread_fn, t, "ctxbus-kunit-%u", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	}

	/* The devm parent goes while the threads run. */
	kunit_device_unregister(test, devm_parent);

	for (i = 0; i < CTX_THREADS * 2; i++) {
		struct ctx_thread *t = &threads[i];

		wait_for_completion(&t->done);
		kunit_info(test, "thread %u (%s): %u created, %u refused, %u failed\n", i,
			   t->alive ? "contested name" : "own name", t->created, t->refused,
			   t->failed);
		KUNIT_EXPECT_EQ_MSG(test, t->failed, 0, "thread %u, first error %pe", i,
				    ERR_PTR(t->first_err));
		KUNIT_EXPECT_EQ(test, t->created + t->refused, CTX_THREAD_CYCLES);
		if (!t->alive)
			KUNIT_EXPECT_EQ(test, t->created, CTX_THREAD_CYCLES);
	}
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
	KUNIT_EXPECT_FALSE(test, context_bus_kunit_has("ctxbus-kunit-contested"));
}

/*
 * The IOVA outside a window is where the IOMMU core shows reservations:
 * /sys/kernel/iommu_groups/N/reserved_regions lists it as "reserved".
 */
static void context_bus_window_is_reserved_region(struct kunit *test)
{
	struct context_device_info info = {
		.dma_mask = DMA_BIT_MASK(32),
		.iova_start = CTX_MB(16),
		.iova_size = CTX_MB(600) - CTX_MB(16),
	};
	struct context_device *cdev;
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_DMA_RANGES);
	info.np = ctx_add_map(test, &env, &env.sid, 1);
	cdev = ctx_create(test, env.parent, &info);
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, &cdev->dev,
							 0, CTX_MB(16) - 1, true), 1);
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, &cdev->dev,
							 CTX_MB(600), U64_MAX, true), 1);
}

/*
 * A window never widens the dma-ranges of the context's bus: the device
 * gets their intersection, and a window outside them is refused.
 */
static void context_bus_window_within_dma_ranges(struct kunit *test)
{
	/* DMA [0, 1G) reaches CPU [0, 1G): <child parent size>, two cells each. */
	const u32 dma_ranges[] = { 0, 0, 0, 0, 0, SZ_1G };
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	struct context_device *cdev;
	struct of_changeset *ocs;
	struct device_node *bus;
	struct ctx_env env;
	char name[40];
	u32 iommus[2];

	ctx_env_init(test, &env, CTX_SID_DMA_RANGES + 1);
	snprintf(name, sizeof(name), "ctxbus-kunit-dma-ranges-%x", env.sid);
	bus = ctx_node_new(test, of_root, name, &ocs);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, bus, "#address-cells", 2));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, bus, "#size-cells", 2));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, bus, "dma-ranges",
								 dma_ranges,
								 ARRAY_SIZE(dma_ranges)));
	ctx_node_apply(test, ocs);
	iommus[0] = env.smmu;
	iommus[1] = env.sid;
	info.np = ctx_node_new(test, bus, "ctx", &ocs);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, info.np, "iommus", iommus,
								 ARRAY_SIZE(iommus)));
	ctx_node_apply(test, ocs);

	/* [512M, 2G) meets [0, 1G) in [512M, 1G). */
	info.iova_start = CTX_MB(512);
	info.iova_size = SZ_2G - CTX_MB(512);
	cdev = ctx_create(test, env.parent, &info);
	ctx_expect_fills(test, &cdev->dev, CTX_MB(512), CTX_MB(512));
	ctx_destroy(test, cdev);

	info.iova_start = SZ_2G;
	info.iova_size = SZ_1G;
	ctx_expect_refusal(test, env.parent, &info, -ERANGE);
}

/*
 * An identity (passthrough) domain translates nothing: refused unless the
 * caller accepts it with CONTEXT_DEVICE_ALLOW_IDENTITY. A device confined
 * to IOVA ranges, by a window or by iommu-ranges, never gets one: the
 * IOMMU core gives it a DMA domain even where the default is passthrough.
 */
static void context_bus_identity_domain(struct kunit *test)
{
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	struct iommu_domain *domain;
	struct device_node *np;
	struct context_device *cdev;
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_IDENTITY);
	info.np = ctx_add_map(test, &env, &env.sid, 1);
	iommu_kunit_default_passthrough(test);

	ctx_expect_refusal(test, env.parent, &info, -ENODEV);

	info.flags = CONTEXT_DEVICE_ALLOW_IDENTITY;
	info.iova_start = CTX_MB(16);
	info.iova_size = CTX_MB(16);
	cdev = ctx_create(test, env.parent, &info);
	KUNIT_EXPECT_TRUE(test, iommu_is_dma_domain(iommu_get_domain_for_dev(&cdev->dev)));
	ctx_destroy(test, cdev);

	/* Nor by one of the device tree's. */
	info.iova_size = 0;
	np = info.np;
	info.np = ctx_add_ranged_client(test, &env, "ranged", ctx_range_16m_32m,
					ARRAY_SIZE(ctx_range_16m_32m));
	cdev = ctx_create(test, env.parent, &info);
	KUNIT_EXPECT_TRUE(test, iommu_is_dma_domain(iommu_get_domain_for_dev(&cdev->dev)));
	ctx_destroy(test, cdev);
	info.np = np;

	cdev = ctx_create(test, env.parent, &info);
	KUNIT_ASSERT_TRUE(test, device_iommu_mapped(&cdev->dev));
	domain = iommu_get_domain_for_dev(&cdev->dev);
	KUNIT_ASSERT_NOT_NULL(test, domain);
	KUNIT_EXPECT_EQ(test, domain->type, IOMMU_DOMAIN_IDENTITY);
}

/* One create, made to fail at its @n-th fault point (0: none). */
struct ctx_fault_call {
	struct context_device *cdev;
	struct device *parent;		/* the devm path's own parent, or NULL */
	bool fired;			/* the @n-th fault point was reached */
};

static void ctx_fault_create(struct kunit *test, struct ctx_env *env,
			     const struct context_device_info *info, bool devm,
			     unsigned int n, struct ctx_fault_call *call)
{
	static atomic_t serial = ATOMIC_INIT(0);
	char name[32];

	call->parent = NULL;
	if (devm) {
		snprintf(name, sizeof(name), "ctxbus-fault-%d", atomic_inc_return(&serial));
		call->parent = kunit_device_register(test, name);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, call->parent);
	}
	if (!n) {
		call->cdev = devm ? devm_context_device_create(call->parent, info) :
				    context_device_create(env->parent, info);
		call->fired = false;
		return;
	}
	kunit_expect_stack_dump(test, CONTEXT_BUS_KUNIT_FAULT_WARNS) {
		context_bus_kunit_fault_arm(n);
		call->cdev = devm ? devm_context_device_create(call->parent, info) :
				    context_device_create(env->parent, info);
		call->fired = context_bus_kunit_fault_fired();
	}
}

static void ctx_fault_destroy(struct kunit *test, struct ctx_fault_call *call)
{
	if (call->parent)
		kunit_device_unregister(test, call->parent);
	else if (!IS_ERR_OR_NULL(call->cdev))
		context_device_destroy(call->cdev);
}

/*
 * A clean create on the stream must succeed: the failed one gave the stream
 * back. (Whether it leaked an IOMMU group shows in kmemleak's report: with
 * DEBUG_KOBJECT_RELEASE a group's id is freed seconds after its last put,
 * so the ids do not tell.)
 */
static void ctx_fault_expect_clean(struct kunit *test, struct ctx_env *env,
				   const struct context_device_info *info, bool devm,
				   unsigned int n)
{
	struct ctx_fault_call call;

	ctx_fault_create(test, env, info, devm, 0, &call);
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, call.cdev, "after fault %u: %pe", n, call.cdev);
	KUNIT_EXPECT_TRUE_MSG(test, device_iommu_mapped(&call.cdev->dev), "after fault %u", n);
	ctx_fault_destroy(test, &call);
}

/*
 * Each fault-injection case: one device-tree model, window or not, devm or
 * not, iommu-ranges (16M-32M, with iommus only) or not.
 */
struct ctx_fault_case {
	const char *desc;
	bool iommus;
	bool window;
	bool devm;
	bool ranges;
};

static const struct ctx_fault_case ctx_fault_cases[] = {
	{ "iommu-map", false, false, false, false },
	{ "iommu-map, window", false, true, false, false },
	{ "iommus", true, false, false, false },
	{ "iommus, window", true, true, false, false },
	{ "iommu-map, window, devm", false, true, true, false },
	{ "iommus, iommu-ranges", true, false, false, true },
};

KUNIT_ARRAY_PARAM_DESC(ctx_fault, ctx_fault_cases, desc);

static_assert(ARRAY_SIZE(ctx_fault_cases) <= CTX_SID_RANGES - CTX_SID_FAULTS);

/*
 * Fail the n-th fault point (allocations, through failslab and
 * fail_page_alloc) of a create, for n = 1, 2, ... until a create meets no
 * fault: every failed create leaves the bus and the stream as they were,
 * and kmemleak finds nothing of it. A create that absorbs its fault must still return
 * a fully usable device. Needs failslab and fail_page_alloc with
 * ignore-gfp-wait cleared in debugfs.
 */
static void context_bus_fault_injection(struct kunit *test)
{
	const struct ctx_fault_case *c = test->param_value;
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	unsigned int n, before, failed = 0, absorbed = 0;
	struct iommu_kunit_fill *fill;
	struct ctx_fault_call call = {};
	struct ctx_env env;

	if (!IS_ENABLED(CONFIG_FAULT_INJECTION))
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION");

	ctx_env_init(test, &env, CTX_SID_FAULTS + (c - ctx_fault_cases));
	if (c->ranges)
		info.np = ctx_add_ranged_client(test, &env, "ctx", ctx_range_16m_32m,
						ARRAY_SIZE(ctx_range_16m_32m));
	else if (c->iommus)
		info.np = ctx_add_client(test, &env, "ctx", env.smmu, env.sid);
	else
		info.np = ctx_add_map(test, &env, &env.sid, 1);
	if (c->window) {
		info.iova_start = CTX_MB(16);
		info.iova_size = CTX_MB(16);
	}
	before = context_bus_kunit_count(NULL);
	ctx_fault_expect_clean(test, &env, &info, c->devm, 0);

	for (n = 1; n < 100000; n++) {
		ctx_fault_create(test, &env, &info, c->devm, n, &call);
		if (!call.fired) {
			KUNIT_EXPECT_FALSE(test, IS_ERR_OR_NULL(call.cdev));
			ctx_fault_destroy(test, &call);
			break;
		}
		if (IS_ERR_OR_NULL(call.cdev)) {
			failed++;
			KUNIT_EXPECT_TRUE_MSG(test, IS_ERR(call.cdev), "fault %u", n);
		} else {
			/* Usable, and confined: a reservation lost to the fault would show. */
			absorbed++;
			ctx_expect_usable(test, call.cdev, c->devm ? call.parent : env.parent,
					  &info);
			if (c->window || c->ranges) {
				fill = ctx_expect_fills(test, &call.cdev->dev, CTX_MB(16),
							CTX_MB(16));
				iommu_kunit_unfill(test, fill);
			}
		}
		ctx_fault_destroy(test, &call);
		KUNIT_EXPECT_EQ_MSG(test, context_bus_kunit_count(NULL), before, "fault %u", n);
		ctx_fault_expect_clean(test, &env, &info, c->devm, n);
		if (test->status == KUNIT_FAILURE)
			break;
	}
	kunit_info(test, "%s: %u fault points: %u refused, %u absorbed\n",
		   c->desc, n - 1, failed, absorbed);
	if (n == 1 && !call.fired)
		kunit_skip(test, CONTEXT_BUS_KUNIT_NO_FAULT);
}

/* What one thread of context_bus_dma_configure_again() calls, and saw. */
struct ctx_configure_thread {
	struct device *dev;
	struct completion done;
	int errors;
};

static int ctx_configure_fn(void *data)
{
	struct ctx_configure_thread *t = data;
	unsigned int i;

	for (i = 0; i < CTX_THREAD_CYCLES; i++)
		if (context_device_bus_type.dma_configure(t->dev))
			t->errors++;
	complete(&t->done);
	return 0;
}

/*
 * The IOMMU core may call dma_configure again, and from two probes at once:
 * a live device keeps its window, which still holds, and gets no range map.
 */
static void context_bus_dma_configure_again(struct kunit *test)
{
	struct context_device_info info = {
		.dma_mask = DMA_BIT_MASK(32),
		.iova_start = CTX_MB(16),
		.iova_size = CTX_MB(16),
	};
	struct ctx_configure_thread *t;
	struct context_device *cdev;
	struct task_struct *task;
	struct ctx_env env;
	int i;

	ctx_env_init(test, &env, CTX_SID_CONFIGURE);
	info.np = ctx_add_map(test, &env, &env.sid, 1);
	cdev = ctx_create(test, env.parent, &info);

	t = kunit_kcalloc(test, CTX_THREADS, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	for (i = 0; i < CTX_THREADS; i++) {
		t[i].dev = &cdev->dev;
		init_completion(&t[i].done);
		task = kthread_run(ctx_configure_fn, &t[i], "ctxbus-configure-%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	}
	for (i = 0; i < CTX_THREADS; i++) {
		wait_for_completion(&t[i].done);
		KUNIT_EXPECT_EQ_MSG(test, t[i].errors, 0, "thread %d", i);
	}

	KUNIT_EXPECT_NULL(test, cdev->dev.dma_range_map);
	ctx_expect_usable(test, cdev, env.parent, &info);
	ctx_expect_fills(test, &cdev->dev, info.iova_start, info.iova_size);
}

/*
 * iommu_set_iova_window(), as the bus calls it: once the device is in its
 * group only the window it was set up with may be given again, and a
 * device the IOMMU core never probed has nowhere to keep one.
 */
static void context_bus_iova_window_contract(struct kunit *test)
{
	struct context_device_info info = {
		.dma_mask = DMA_BIT_MASK(32),
		.iova_start = CTX_MB(16),
		.iova_size = CTX_MB(16),
	};
	struct context_device *cdev;
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_WINDOW_API);
	info.np = ctx_add_map(test, &env, &env.sid, 1);
	cdev = ctx_create(test, env.parent, &info);

	KUNIT_EXPECT_EQ(test, iommu_set_iova_window(&cdev->dev, CTX_MB(16), CTX_MB(32) - 1), 0);
	KUNIT_EXPECT_EQ(test, iommu_set_iova_window(&cdev->dev, CTX_MB(16), CTX_MB(48) - 1),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, iommu_set_iova_window(&cdev->dev, CTX_MB(32), CTX_MB(16)), -EINVAL);
	KUNIT_EXPECT_EQ(test, iommu_set_iova_window(env.parent, 0, U32_MAX), -ENODEV);
	ctx_expect_fills(test, &cdev->dev, info.iova_start, info.iova_size);
}

/* 768M-1024M and 256M-384M, unsorted, in two and two cells. */
static const u32 ctx_two_ranges[] = {
	0, 0x30000000, 0, 0x10000000,
	0, 0x10000000, 0, 0x08000000,
};

/* How many of @fill's IOVAs lie in [@start, @end), and how many in none of @n such. */
static unsigned int ctx_fill_in(const struct iommu_kunit_fill *fill, const u64 (*win)[2],
				unsigned int n, unsigned int *outside)
{
	unsigned int i, j, in = 0;

	*outside = 0;
	for (i = 0; i < fill->count; i++) {
		for (j = 0; j < n; j++)
			if (fill->iova[i] >= win[j][0] && fill->iova[i] + SZ_1M <= win[j][1])
				break;
		if (j < n)
			in++;
		else
			(*outside)++;
	}
	return in;
}

/*
 * A node of model B with two iommu-ranges and no window in code: the group
 * shows the three gaps as reserved regions, and exhaustion fills both
 * ranges and never the gap between them.
 */
static void context_bus_iommu_ranges(struct kunit *test)
{
	static const u64 win[][2] = { { CTX_MB(256), CTX_MB(384) }, { CTX_MB(768), CTX_MB(1024) } };
	struct context_device_info info = { .dma_mask = DMA_BIT_MASK(32) };
	struct iommu_kunit_fill *fill;
	struct context_device *cdev;
	unsigned int in, outside;
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_RANGES);
	info.np = ctx_add_ranged_client(test, &env, "ranged", ctx_two_ranges,
					ARRAY_SIZE(ctx_two_ranges));
	cdev = ctx_create(test, env.parent, &info);
	ctx_expect_usable(test, cdev, env.parent, &info);
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, &cdev->dev, 0, CTX_MB(256) - 1,
							 true), 1);
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, &cdev->dev, CTX_MB(384),
							 CTX_MB(768) - 1, true), 1);
	KUNIT_EXPECT_EQ(test, iommu_kunit_count_reserved(test, &cdev->dev, CTX_MB(1024), U64_MAX,
							 true), 1);

	fill = iommu_kunit_fill_iova(test, &cdev->dev, (DMA_BIT_MASK(32) >> 20) + 16);
	in = ctx_fill_in(fill, win, ARRAY_SIZE(win), &outside);
	kunit_info(test, "iommu-ranges 256M-384M, 768M-1024M: %u maps of 1 MiB, %u in them, %u outside, lowest %#llx, highest %#llx\n",
		   fill->count, in, outside, (u64)fill->lowest, (u64)fill->highest);
	KUNIT_EXPECT_EQ(test, in, 128 + 256);
	KUNIT_EXPECT_EQ(test, outside, 0);
}

/*
 * A window in code on a node with iommu-ranges: the device gets what both
 * allow, 300M-384M and 768M-800M.
 */
static void context_bus_iommu_ranges_and_window(struct kunit *test)
{
	static const u64 win[][2] = { { CTX_MB(300), CTX_MB(384) }, { CTX_MB(768), CTX_MB(800) } };
	struct context_device_info info = {
		.dma_mask = DMA_BIT_MASK(32),
		.iova_start = CTX_MB(300),
		.iova_size = CTX_MB(500),
	};
	struct iommu_kunit_fill *fill;
	struct context_device *cdev;
	unsigned int in, outside;
	struct ctx_env env;

	ctx_env_init(test, &env, CTX_SID_RANGES + 1);
	info.np = ctx_add_ranged_client(test, &env, "ranged", ctx_two_ranges,
					ARRAY_SIZE(ctx_two_ranges));
	cdev = ctx_create(test, env.parent, &info);
	ctx_expect_usable(test, cdev, env.parent, &info);
	fill = iommu_kunit_fill_iova(test, &cdev->dev, (DMA_BIT_MASK(32) >> 20) + 16);
	in = ctx_fill_in(fill, win, ARRAY_SIZE(win), &outside);
	kunit_info(test, "iommu-ranges and window 300M-800M: %u maps of 1 MiB, %u in 300M-384M and 768M-800M, %u outside\n",
		   fill->count, in, outside);
	KUNIT_EXPECT_EQ(test, in, 84 + 32);
	KUNIT_EXPECT_EQ(test, outside, 0);
}

static struct kunit_case context_bus_test_cases[] = {
	KUNIT_CASE(context_bus_iommu_map_devices_are_isolated),
	KUNIT_CASE(context_bus_iommus_devices_are_isolated),
	KUNIT_CASE(context_bus_window_600m_3500m),
	KUNIT_CASE(context_bus_window_0_3500m),
	KUNIT_CASE(context_bus_window_16m_600m),
	KUNIT_CASE(context_bus_no_window_spans_dma_mask),
	KUNIT_CASE_PARAM(context_bus_refusal, ctx_refusal_gen_params),
	KUNIT_CASE(context_bus_duplicate_name_refused),
	KUNIT_CASE(context_bus_shared_group_needs_same_window),
	KUNIT_CASE(context_bus_destroy_releases_iommu),
	KUNIT_CASE(context_bus_devm_goes_with_parent),
	KUNIT_CASE(context_bus_create_destroy_cycles),
	KUNIT_CASE(context_bus_window_at_top_of_aperture),
	KUNIT_CASE(context_bus_window_above_4g),
	KUNIT_CASE(context_bus_zero_size_is_no_window),
	KUNIT_CASE(context_bus_node_removed_under_live_device),
	KUNIT_CASE(context_bus_no_driver_binds),
	KUNIT_CASE(context_bus_concurrent),
	KUNIT_CASE(context_bus_window_is_reserved_region),
	KUNIT_CASE(context_bus_window_within_dma_ranges),
	KUNIT_CASE(context_bus_iova_window_contract),
	KUNIT_CASE(context_bus_iommu_ranges),
	KUNIT_CASE(context_bus_iommu_ranges_and_window),
	KUNIT_CASE(context_bus_identity_domain),
	KUNIT_CASE(context_bus_dma_configure_again),
	KUNIT_CASE_PARAM(context_bus_fault_injection, ctx_fault_gen_params),
	{}
};

static struct kunit_suite context_bus_test_suite = {
	.name = "context_bus",
	.test_cases = context_bus_test_cases,
};

kunit_test_suite(context_bus_test_suite);

MODULE_DESCRIPTION("KUnit tests of the context device bus");
MODULE_LICENSE("GPL");
