// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark of the context device bus: what a context device costs against
 * the other ways to get a device behind an IOMMU, and whether that cost
 * stays flat as the bus fills.
 *
 * Models, all behind the SMMUv3 of QEMU virt (stream IDs 0x1000 and up):
 *   map       context device from an "iommu-map" and a function id
 *   map+win   the same with an IOVA window (16 MiB - 600 MiB)
 *   child     context device from a node with its own "iommus"
 *   platform  fastrpc's way: of_platform_device_create() from a node with
 *             "iommus", bound by a platform driver, of_platform_device_destroy()
 *   floor     the least the IOMMU core needs: a platform device with no
 *             driver on a node with "iommus", put behind the IOMMU and taken
 *             away by the IOMMU core's own bus notifier in
 *             platform_device_add() and platform_device_unregister()
 *   floor+3-attrs  the floor with three sysfs attributes per device, as
 *             many as a context device has
 *   faux      faux_device_create(): the driver core alone, no IOMMU
 *
 * Every case is KUNIT_SPEED_SLOW: kunit.py run --filter 'speed>slow' leaves
 * them out, a run without the filter includes them. Timed loops run with
 * the console at CONSOLE_LOGLEVEL_QUIET so that printing "Adding to iommu
 * group" to the serial console is not what is measured; results are
 * printed after the level is restored, one "ctxbench:" line each, for a
 * script to parse.
 */

#include <kunit/device.h>
#include <kunit/iommu.h>
#include <kunit/of.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/context_bus.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/device/faux.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/iommu.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_device.h>
#include <linux/of_platform.h>
#include <linux/percpu.h>
#include <linux/platform_device.h>
#include <linux/printk.h>
#include <linux/random.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmstat.h>

/* Iterations of each timed operation (after BENCH_WARMUP untimed ones). */
#define BENCH_N			300
#define BENCH_WARMUP		10
/* Devices already there when the cost of one more is measured. */
static const unsigned int bench_levels[] = { 0, 64, 512, 4096 };
#define BENCH_FILL		4096
/* Devices created to measure memory per device. */
#define BENCH_MEM_N		1024
/* Function ids / nodes: BENCH_FILL to fill, then spare slots. */
#define BENCH_SLOTS		(BENCH_FILL + 8)
#define BENCH_SLOT_A		(BENCH_FILL + 1)
#define BENCH_SLOT_B		(BENCH_FILL + 2)

/*
 * Stream IDs: QEMU virt leaves 0x100 and up free, and its SMMUv3 has 16
 * bits of stream ID and a 2-level stream table (one 256-entry table per
 * 256 stream IDs, allocated on first use).
 */
#define BENCH_SID_MAP		0x1000	/* context devices, "iommu-map" */
#define BENCH_SID_FLOOR		0x3000	/* floor devices, nodes with "iommus" */
#define BENCH_SID_NODE		0x5000	/* nodes with "iommus": child, platform */

#define BENCH_WIN_START		SZ_16M
#define BENCH_WIN_SIZE		(600ULL * SZ_1M - SZ_16M)
#define BENCH_COMPATIBLE	"context-bus-bench,cb"

/* What a case works with: its nodes and a parent device. */
struct bench {
	struct kunit *test;
	struct device *parent;
	struct device_node *map;	/* iommu-map to BENCH_SID_MAP */
	struct device_node **node;	/* BENCH_SLOTS nodes with iommus, or NULL */
	struct device_node **floor_node; /* as many, to BENCH_SID_FLOOR, no compatible */
	unsigned int nodes;
};

/* One way to make a device behind the IOMMU (or not). */
struct bench_model {
	const char *name;
	void *(*create)(struct bench *b, unsigned int slot);
	void (*destroy)(void *dev);
	bool needs_nodes;
};

/* ---- the floor: a platform device with no driver ---- */

/* The floor with three read-only attributes, as many as a context device has. */
static ssize_t fn_id_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", to_platform_device(dev)->id);
}
static DEVICE_ATTR_RO(fn_id);

static ssize_t iova_start_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x0\n");
}
static DEVICE_ATTR_RO(iova_start);

static ssize_t iova_size_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x0\n");
}
static DEVICE_ATTR_RO(iova_size);

static struct attribute *bench_attrs[] = {
	&dev_attr_fn_id.attr,
	&dev_attr_iova_start.attr,
	&dev_attr_iova_size.attr,
	NULL
};
ATTRIBUTE_GROUPS(bench);

/*
 * The node has "iommus" and no compatible, and no platform driver has the
 * device's name: the IOMMU core's bus notifier alone acts on it.
 */
static void *__bench_floor_create(struct bench *b, unsigned int slot,
				  const struct attribute_group **groups)
{
	struct platform_device *pdev;
	int ret;

	pdev = platform_device_alloc(groups ? "context-bench-floor-attrs" :
				     "context-bench-floor", slot);
	if (!pdev)
		return ERR_PTR(-ENOMEM);
	pdev->dev.parent = b->parent;
	pdev->dev.groups = groups;
	device_set_node(&pdev->dev, of_fwnode_handle(of_node_get(b->floor_node[slot])));
	ret = platform_device_add(pdev);
	if (ret) {
		platform_device_put(pdev);
		return ERR_PTR(ret);
	}
	if (!device_iommu_mapped(&pdev->dev)) {
		platform_device_unregister(pdev);
		return ERR_PTR(-ENODEV);
	}
	return &pdev->dev;
}

static void *bench_floor_create(struct bench *b, unsigned int slot)
{
	return __bench_floor_create(b, slot, NULL);
}

static void *bench_floor_attrs_create(struct bench *b, unsigned int slot)
{
	return __bench_floor_create(b, slot, bench_groups);
}

static void bench_floor_destroy(void *dev)
{
	platform_device_unregister(to_platform_device(dev));
}

/*
 * The floor step by step: two bus notifiers, called first and last, time
 * the IOMMU core's between them (iommu_probe_device() on
 * BUS_NOTIFY_ADD_DEVICE, iommu_release_device() on
 * BUS_NOTIFY_REMOVED_DEVICE) for the device @bench_split_dev.
 */
static struct device *bench_split_dev;
static u64 bench_split_t[2];

static int bench_split_notify(struct notifier_block *nb, unsigned long action, void *data,
			      unsigned int i)
{
	if (data == bench_split_dev &&
	    (action == BUS_NOTIFY_ADD_DEVICE || action == BUS_NOTIFY_REMOVED_DEVICE))
		bench_split_t[i] = ktime_get_ns();
	return NOTIFY_DONE;
}

static int bench_split_first(struct notifier_block *nb, unsigned long action, void *data)
{
	return bench_split_notify(nb, action, data, 0);
}

static int bench_split_last(struct notifier_block *nb, unsigned long action, void *data)
{
	return bench_split_notify(nb, action, data, 1);
}

static struct notifier_block bench_split_nb[] = {
	{ .notifier_call = bench_split_first, .priority = INT_MAX },
	{ .notifier_call = bench_split_last, .priority = INT_MIN },
};

static void bench_split_unregister(void *nb)
{
	bus_unregister_notifier(&platform_bus_type, nb);
}

/* ---- the context bus ---- */

static void *bench_ctx_create(struct bench *b, const struct context_device_info *info)
{
	struct context_device *cdev = context_device_create(b->parent, info);

	return IS_ERR(cdev) ? (void *)cdev : &cdev->dev;
}

static void *bench_map_create(struct bench *b, unsigned int slot)
{
	struct context_device_info info = {
		.np = b->map,
		.fn_id = slot,
		.dma_mask = DMA_BIT_MASK(32),
	};

	return bench_ctx_create(b, &info);
}

static void *bench_win_create(struct bench *b, unsigned int slot)
{
	struct context_device_info info = {
		.np = b->map,
		.fn_id = slot,
		.dma_mask = DMA_BIT_MASK(32),
		.iova_start = BENCH_WIN_START,
		.iova_size = BENCH_WIN_SIZE,
	};

	return bench_ctx_create(b, &info);
}

static void *bench_child_create(struct bench *b, unsigned int slot)
{
	/* fn_id only labels an "iommus" context; keep the names apart from map's. */
	struct context_device_info info = {
		.np = b->node[slot],
		.fn_id = 100000 + slot,
		.dma_mask = DMA_BIT_MASK(32),
	};

	return bench_ctx_create(b, &info);
}

static void bench_ctx_destroy(void *dev)
{
	context_device_destroy(to_context_device((struct device *)dev));
}

/* ---- the platform path, as fastrpc creates its compute banks ---- */

static int bench_cb_probe(struct platform_device *pdev)
{
	return dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(32));
}

static const struct of_device_id bench_cb_match[] = {
	{ .compatible = BENCH_COMPATIBLE },
	{}
};

static struct platform_driver bench_cb_driver = {
	.probe = bench_cb_probe,
	.driver = {
		.name = "context-bench-cb",
		.of_match_table = bench_cb_match,
		.probe_type = PROBE_FORCE_SYNCHRONOUS,
	},
};

static void *bench_platform_create(struct bench *b, unsigned int slot)
{
	struct platform_device *pdev;

	pdev = of_platform_device_create(b->node[slot], NULL, b->parent);
	if (!pdev)
		return ERR_PTR(-ENODEV);
	if (!pdev->dev.driver || !device_iommu_mapped(&pdev->dev)) {
		of_platform_device_destroy(&pdev->dev, NULL);
		return ERR_PTR(-ENODEV);
	}
	return &pdev->dev;
}

static void bench_platform_destroy(void *dev)
{
	of_platform_device_destroy(dev, NULL);
}

/* ---- the driver core alone ---- */

static void *bench_faux_create(struct bench *b, unsigned int slot)
{
	struct faux_device *fdev;
	char name[32];

	snprintf(name, sizeof(name), "context-bench-faux.%u", slot);
	fdev = faux_device_create(name, b->parent, NULL);
	return fdev ? &fdev->dev : ERR_PTR(-ENOMEM);
}

static void bench_faux_destroy(void *dev)
{
	faux_device_destroy(container_of((struct device *)dev, struct faux_device, dev));
}

enum {
	M_MAP, M_WIN, M_CHILD, M_PLATFORM, M_FLOOR, M_FLOOR_ATTRS, M_FAUX, M_COUNT
};

static const struct bench_model bench_models[M_COUNT] = {
	[M_MAP] = { "map", bench_map_create, bench_ctx_destroy },
	[M_WIN] = { "map+window", bench_win_create, bench_ctx_destroy },
	[M_CHILD] = { "child-node", bench_child_create, bench_ctx_destroy, true },
	[M_PLATFORM] = { "platform", bench_platform_create, bench_platform_destroy, true },
	[M_FLOOR] = { "floor", bench_floor_create, bench_floor_destroy, true },
	[M_FLOOR_ATTRS] = { "floor+3-attrs", bench_floor_attrs_create, bench_floor_destroy, true },
	[M_FAUX] = { "faux", bench_faux_create, bench_faux_destroy },
};

/* ---- set-up ---- */

static int bench_saved_loglevel;

/*
 * The console may print from a thread of its own, and decides at printing
 * time whether a message is below console_loglevel: wait for it to catch up
 * before each change of level, so that quiet loops do not flood it later
 * and results printed just before a quiet loop are not lost.
 */
static void bench_loud(void *unused)
{
	pr_flush(1000, true);
	console_loglevel = bench_saved_loglevel;
}

/* Keep the console quiet until bench_loud() or the end of the test. */
static void bench_quiet(struct kunit *test)
{
	pr_flush(1000, true);
	bench_saved_loglevel = console_loglevel;
	console_loglevel = CONSOLE_LOGLEVEL_QUIET;
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, bench_loud, NULL));
}

static void bench_unquiet(struct kunit *test)
{
	kunit_release_action(test, bench_loud, NULL);
}

static void bench_unregister_cb_driver(void *unused)
{
	platform_driver_unregister(&bench_cb_driver);
}

static struct device_node *bench_add_map(struct kunit *test, struct of_changeset *ocs,
					 struct device_node *box, const char *name,
					 u32 smmu, u32 sid)
{
	const u32 map[] = { 0, smmu, sid, BENCH_SLOTS };
	struct device_node *np;
	int ret;

	np = of_changeset_create_node(ocs, box, name);
	KUNIT_ASSERT_NOT_NULL(test, np);
	ret = of_changeset_add_prop_u32_array(ocs, np, "iommu-map", map, ARRAY_SIZE(map));
	KUNIT_ASSERT_EQ(test, 0, ret);
	return np;
}

/*
 * Nodes under /context-bench-<case> (not populated by the OF core): two
 * iommu-maps and, if @nodes, that many nodes with "iommus" and a compatible
 * for the platform driver. The bus and the driver of the floor and of the
 * platform path are registered until the test ends.
 */
static void bench_init(struct kunit *test, struct bench *b, const char *tag,
		       unsigned int nodes)
{
	struct device_node *box;
	struct of_changeset *ocs;
	char name[48];
	unsigned int i;
	u32 smmu;
	int ret;

	memset(b, 0, sizeof(*b));
	b->test = test;
	smmu = iommu_kunit_phandle(test);

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	snprintf(name, sizeof(name), "context-bench-%s", tag);
	box = of_changeset_create_node(ocs, of_root, name);
	KUNIT_ASSERT_NOT_NULL(test, box);
	b->map = bench_add_map(test, ocs, box, "map", smmu, BENCH_SID_MAP);
	if (nodes) {
		b->node = kunit_kcalloc(test, nodes, sizeof(*b->node), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, b->node);
		b->floor_node = kunit_kcalloc(test, nodes, sizeof(*b->floor_node), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, b->floor_node);
		b->nodes = nodes;
	}
	for (i = 0; i < nodes; i++) {
		u32 iommus[] = { smmu, BENCH_SID_NODE + i };

		struct device_node *np;

		snprintf(name, sizeof(name), "cb-%u", i);
		np = of_changeset_create_node(ocs, box, name);
		KUNIT_ASSERT_NOT_NULL(test, np);
		ret = of_changeset_add_prop_u32_array(ocs, np, "iommus", iommus,
						      ARRAY_SIZE(iommus));
		if (!ret)
			ret = of_changeset_add_prop_string(ocs, np, "compatible",
							   BENCH_COMPATIBLE);
		KUNIT_ASSERT_EQ(test, 0, ret);
		b->node[i] = np;

		iommus[1] = BENCH_SID_FLOOR + i;
		snprintf(name, sizeof(name), "floor-%u", i);
		np = of_changeset_create_node(ocs, box, name);
		KUNIT_ASSERT_NOT_NULL(test, np);
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, np, "iommus", iommus,
									 ARRAY_SIZE(iommus)));
		b->floor_node[i] = np;
	}
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));
	/*
	 * Also ends the "ok" line of the previous case, which KUnit prints
	 * without a newline: the console would only see it once the next
	 * message comes, which may be in a quiet loop.
	 */
	kunit_info(test, "%u nodes with iommus under %pOF\n", nodes, box);

	snprintf(name, sizeof(name), "ctxbench-%s", tag);
	b->parent = kunit_device_register(test, name);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, b->parent);

	KUNIT_ASSERT_EQ(test, 0, platform_driver_register(&bench_cb_driver));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, bench_unregister_cb_driver,
							   NULL));
}

/* ---- statistics ---- */

struct bench_stat {
	u64 median, p10, p90;
};

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Sorts @v. */
static struct bench_stat bench_stat(u64 *v, unsigned int n)
{
	struct bench_stat s;

	sort(v, n, sizeof(*v), bench_cmp_u64, NULL);
	s.median = v[n / 2];
	s.p10 = v[n / 10];
	s.p90 = v[n * 9 / 10];
	return s;
}

/* Ratio a/b as "x.yy". */
static void bench_ratio(char *buf, size_t len, u64 a, u64 b)
{
	u64 r = b ? div64_u64(a * 100 + b / 2, b) : 0;

	snprintf(buf, len, "%llu.%02llu", r / 100, r % 100);
}

/* ---- cases ---- */

/*
 * Create and destroy one device of each model BENCH_N times, the models
 * taking turns in a random order so that a change of load on the host, or
 * what one model leaves to be done later, hits them alike.
 */
static void context_bus_bench_latency(struct kunit *test)
{
	u64 *create[M_COUNT], *destroy[M_COUNT], *both[M_COUNT], *split[7];
	struct bench_stat sc[M_COUNT], sd[M_COUNT], sb[M_COUNT];
	unsigned int i, j, m, order[M_COUNT];
	struct device *fdev;
	struct bench b;
	char r1[16], r2[16];

	bench_init(test, &b, "latency", BENCH_SLOTS);
	for (j = 0; j < ARRAY_SIZE(split); j++) {
		split[j] = kunit_kcalloc(test, BENCH_N, sizeof(u64), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, split[j]);
	}
	for (m = 0; m < M_COUNT; m++) {
		create[m] = kunit_kcalloc(test, BENCH_N, sizeof(u64), GFP_KERNEL);
		destroy[m] = kunit_kcalloc(test, BENCH_N, sizeof(u64), GFP_KERNEL);
		both[m] = kunit_kcalloc(test, BENCH_N, sizeof(u64), GFP_KERNEL);
		KUNIT_ASSERT_TRUE(test, create[m] && destroy[m] && both[m]);
	}

	bench_quiet(test);
	for (i = 0; i < BENCH_WARMUP + BENCH_N; i++) {
		/* A new order each round: no model always follows the same one. */
		for (j = 0; j < M_COUNT; j++)
			order[j] = j;
		for (j = M_COUNT - 1; j > 0; j--) {
			unsigned int k = get_random_u32_below(j + 1);

			swap(order[j], order[k]);
		}
		for (j = 0; j < M_COUNT; j++) {
			unsigned int m = order[j];
			const struct bench_model *model = &bench_models[m];
			u64 t0, t1, t2;
			void *dev;

			t0 = ktime_get_ns();
			dev = model->create(&b, BENCH_SLOT_A);
			t1 = ktime_get_ns();
			KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(dev), "%s: %pe", model->name, dev);
			model->destroy(dev);
			t2 = ktime_get_ns();
			if (i < BENCH_WARMUP)
				continue;
			create[m][i - BENCH_WARMUP] = t1 - t0;
			destroy[m][i - BENCH_WARMUP] = t2 - t1;
			both[m][i - BENCH_WARMUP] = t2 - t0;
		}
	}
	bench_unquiet(test);

	/* The floor step by step: the IOMMU core's notifier and the rest. */
	for (j = 0; j < ARRAY_SIZE(bench_split_nb); j++) {
		int ret = bus_register_notifier(&platform_bus_type, &bench_split_nb[j]);

		KUNIT_ASSERT_EQ(test, 0, ret);
		KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, bench_split_unregister,
								   &bench_split_nb[j]));
	}
	bench_quiet(test);
	for (i = 0; i < BENCH_N; i++) {
		struct platform_device *pdev;
		u64 t0, t1, add[2], del[2];

		pdev = platform_device_alloc("context-bench-floor", BENCH_SLOT_A);
		KUNIT_ASSERT_NOT_NULL(test, pdev);
		pdev->dev.parent = b.parent;
		device_set_node(&pdev->dev,
				of_fwnode_handle(of_node_get(b.floor_node[BENCH_SLOT_A])));
		bench_split_dev = &pdev->dev;
		memset(bench_split_t, 0, sizeof(bench_split_t));
		t0 = ktime_get_ns();
		KUNIT_ASSERT_EQ(test, 0, platform_device_add(pdev));
		t1 = ktime_get_ns();
		memcpy(add, bench_split_t, sizeof(add));
		/* Both notifiers fired, in order, within the add. */
		KUNIT_ASSERT_TRUE(test, t0 <= add[0] && add[0] <= add[1] && add[1] <= t1);
		KUNIT_ASSERT_TRUE(test, device_iommu_mapped(&pdev->dev));
		memset(bench_split_t, 0, sizeof(bench_split_t));
		split[0][i] = t1 - t0 - (add[1] - add[0]);
		split[1][i] = add[1] - add[0];
		t0 = ktime_get_ns();
		platform_device_unregister(pdev);
		t1 = ktime_get_ns();
		memcpy(del, bench_split_t, sizeof(del));
		KUNIT_ASSERT_TRUE(test, t0 <= del[0] && del[0] <= del[1] && del[1] <= t1);
		split[2][i] = del[1] - del[0];
		split[3][i] = t1 - t0 - (del[1] - del[0]);
	}
	bench_split_dev = NULL;

	/*
	 * Pieces of what context_device_create() does beyond the floor, timed
	 * on their own on a floor device: the request's iommu-map lookup, a walk
	 * of the empty bus by name (the old name check), taking and giving back
	 * the group's default domain.
	 */
	fdev = bench_floor_create(&b, BENCH_SLOT_A);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(fdev), "floor: %pe", fdev);
	for (i = 0; i < BENCH_N; i++) {
		struct of_phandle_args args;
		struct device *found;
		u64 t0, t1, t2, t3;
		int ret;

		t0 = ktime_get_ns();
		ret = of_map_iommu_id(b.map, BENCH_SLOT_A, &args);
		if (!ret)
			of_node_put(args.np);
		t1 = ktime_get_ns();
		found = bus_find_device_by_name(&context_device_bus_type, NULL,
						"ctxbench-latency:ctx.none");
		put_device(found);
		t2 = ktime_get_ns();
		if (!iommu_device_use_default_domain(fdev))
			iommu_device_unuse_default_domain(fdev);
		t3 = ktime_get_ns();
		split[4][i] = t1 - t0;
		split[5][i] = t2 - t1;
		split[6][i] = t3 - t2;
	}
	bench_floor_destroy(fdev);
	bench_unquiet(test);

	for (m = 0; m < M_COUNT; m++) {
		sc[m] = bench_stat(create[m], BENCH_N);
		sd[m] = bench_stat(destroy[m], BENCH_N);
		sb[m] = bench_stat(both[m], BENCH_N);
	}
	for (m = 0; m < M_COUNT; m++) {
		bench_ratio(r1, sizeof(r1), sb[m].median, sb[M_FLOOR].median);
		bench_ratio(r2, sizeof(r2), sb[m].median, sb[M_PLATFORM].median);
		kunit_info(test,
			   "ctxbench: latency model=%s n=%u create=%llu/%llu/%llu destroy=%llu/%llu/%llu both=%llu/%llu/%llu floor=%s platform=%s\n",
			   bench_models[m].name, BENCH_N,
			   sc[m].median, sc[m].p10, sc[m].p90,
			   sd[m].median, sd[m].p10, sd[m].p90,
			   sb[m].median, sb[m].p10, sb[m].p90, r1, r2);
	}
	kunit_info(test,
		   "ctxbench: floorsplit n=%u add=%llu iommu_add=%llu iommu_remove=%llu remove=%llu\n",
		   BENCH_N, bench_stat(split[0], BENCH_N).median,
		   bench_stat(split[1], BENCH_N).median, bench_stat(split[2], BENCH_N).median,
		   bench_stat(split[3], BENCH_N).median);
	kunit_info(test,
		   "ctxbench: pieces n=%u of_map_iommu_id=%llu name_check_empty=%llu use_unuse_default_domain=%llu\n",
		   BENCH_N, bench_stat(split[4], BENCH_N).median,
		   bench_stat(split[5], BENCH_N).median, bench_stat(split[6], BENCH_N).median);
}

/*
 * BENCH_N lookups of a name no device has by a walk of the bus, the
 * duplicate-name check context_device_create() made before it kept an index
 * of names: back to back (warm caches), or each after one untimed create and
 * destroy of @model (caches as a create finds them).
 */
static u64 bench_name_walk(struct bench *b, const struct bench_model *model, u64 *t)
{
	unsigned int i;

	for (i = 0; i < BENCH_N; i++) {
		struct device *dev;
		u64 t0;

		if (model) {
			dev = model->create(b, BENCH_SLOT_A);
			if (IS_ERR(dev))
				return 0;
			model->destroy(dev);
		}
		t0 = ktime_get_ns();
		dev = bus_find_device_by_name(&context_device_bus_type, NULL,
					      "ctxbench-scaling:ctx.none");
		t[i] = ktime_get_ns() - t0;
		put_device(dev);
	}
	return bench_stat(t, BENCH_N).median;
}

/*
 * The median create of a floor device while the context bus is full, right
 * after a walk of the context bus for a name as context_device_create()
 * does it (@walk), or without: what the context devices there cost other
 * devices, and what the walk costs the work that follows it (caches, TLB).
 */
static u64 bench_floor_after_walk(struct bench *b, bool walk, u64 *t)
{
	unsigned int i;

	for (i = 0; i < BENCH_N; i++) {
		struct device *dev;
		u64 t0;

		if (walk) {
			dev = bus_find_device_by_name(&context_device_bus_type, NULL,
						      "ctxbench-scaling:ctx.none");
			put_device(dev);
		}
		t0 = ktime_get_ns();
		dev = bench_floor_create(b, BENCH_SLOT_A);
		t[i] = ktime_get_ns() - t0;
		if (IS_ERR(dev))
			return 0;
		bench_floor_destroy(dev);
	}
	return bench_stat(t, BENCH_N).median;
}

/*
 * The cost of one more device when 0, 64, 512 and 4096 are there, for the
 * context bus (iommu-map), the platform path and the floor; and what one
 * walk of the context bus for a name costs at each level.
 */
static void context_bus_bench_scaling(struct kunit *test)
{
	static const unsigned int models[] = { M_MAP, M_PLATFORM, M_FLOOR };
	const unsigned int nl = ARRAY_SIZE(bench_levels);
	struct bench_stat sc, sd;
	unsigned int i, l, k;
	void **fill;
	u64 *tc, *td;
	struct bench b;

	bench_init(test, &b, "scaling", BENCH_SLOTS);
	fill = kunit_kcalloc(test, BENCH_FILL, sizeof(*fill), GFP_KERNEL);
	tc = kunit_kcalloc(test, BENCH_N, sizeof(u64), GFP_KERNEL);
	td = kunit_kcalloc(test, BENCH_N, sizeof(u64), GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, fill && tc && td);

	for (k = 0; k < ARRAY_SIZE(models); k++) {
		const struct bench_model *model = &bench_models[models[k]];
		u64 res_c[ARRAY_SIZE(bench_levels)] = {}, res_d[ARRAY_SIZE(bench_levels)] = {};
		u64 walk[ARRAY_SIZE(bench_levels)] = {}, cold[ARRAY_SIZE(bench_levels)] = {};
		u64 after[ARRAY_SIZE(bench_levels)] = {}, beside[ARRAY_SIZE(bench_levels)] = {};
		unsigned int have = 0;

		bench_quiet(test);
		for (l = 0; l < nl; l++) {
			for (; have < bench_levels[l]; have++) {
				fill[have] = model->create(&b, have);
				if (IS_ERR(fill[have]))
					break;
			}
			if (have < bench_levels[l])
				break;
			for (i = 0; i < BENCH_WARMUP + BENCH_N; i++) {
				u64 t0, t1, t2;
				void *dev;

				t0 = ktime_get_ns();
				dev = model->create(&b, BENCH_SLOT_A);
				t1 = ktime_get_ns();
				if (IS_ERR(dev))
					break;
				model->destroy(dev);
				t2 = ktime_get_ns();
				if (i >= BENCH_WARMUP) {
					tc[i - BENCH_WARMUP] = t1 - t0;
					td[i - BENCH_WARMUP] = t2 - t1;
				}
			}
			if (i < BENCH_WARMUP + BENCH_N)
				break;
			sc = bench_stat(tc, BENCH_N);
			sd = bench_stat(td, BENCH_N);
			res_c[l] = sc.median;
			res_d[l] = sd.median;
			if (models[k] == M_MAP) {
				walk[l] = bench_name_walk(&b, NULL, tc);
				cold[l] = bench_name_walk(&b, model, tc);
				after[l] = bench_floor_after_walk(&b, true, tc);
				beside[l] = bench_floor_after_walk(&b, false, tc);
			}
		}
		while (have)
			model->destroy(fill[--have]);
		bench_unquiet(test);

		KUNIT_ASSERT_EQ_MSG(test, l, nl, "%s: failed at %u devices", model->name,
				    bench_levels[min(l, nl - 1)]);
		for (l = 0; l < nl; l++)
			kunit_info(test,
				   "ctxbench: scaling model=%s existing=%u n=%u create=%llu destroy=%llu namewalk=%llu namewalk_cold=%llu floor_beside=%llu floor_after_walk=%llu\n",
				   model->name, bench_levels[l], BENCH_N, res_c[l], res_d[l],
				   walk[l], cold[l], beside[l], after[l]);
	}
}

struct bench_mem {
	long slab, iommu, percpu, free;
};

static struct bench_mem bench_mem_now(void)
{
	struct bench_mem m;

	/* vmstat folds the per-CPU counter deltas once a second. */
	msleep(2500);
	m = (struct bench_mem) {
		.slab = global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B) +
			global_node_page_state_pages(NR_SLAB_RECLAIMABLE_B),
		.iommu = global_node_page_state(NR_IOMMU_PAGES),
		.percpu = pcpu_nr_pages(),
		.free = global_zone_page_state(NR_FREE_PAGES),
	};
	return m;
}

/* Bytes per device of @pages pages over @n devices. */
static long bench_per_dev(long pages, unsigned int n)
{
	return pages * (long)PAGE_SIZE / (long)n;
}

/*
 * Memory per device: create BENCH_MEM_N devices of each model and read
 * the kernel's page counters before and after (vmstat: slab pages, IOMMU
 * page-table pages, free pages; per-CPU chunk pages), each time after
 * vmstat has folded its per-CPU deltas. Pages held in the per-CPU free
 * lists of the page allocator make the free-page figure the roughest.
 */
static void context_bus_bench_memory(struct kunit *test)
{
	static const unsigned int models[] = {
		M_MAP, M_WIN, M_CHILD, M_PLATFORM, M_FLOOR, M_FAUX
	};
	struct bench_mem m0, m1;
	unsigned int i, k;
	struct bench b;
	void **devs;

	bench_init(test, &b, "memory", BENCH_SLOTS);
	devs = kunit_kcalloc(test, BENCH_MEM_N, sizeof(*devs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, devs);

	for (k = 0; k < ARRAY_SIZE(models); k++) {
		const struct bench_model *model = &bench_models[models[k]];
		unsigned int have;

		bench_quiet(test);
		/* Warm the slab caches and the stream table of the range. */
		for (i = 0; i < 16; i++) {
			void *dev = model->create(&b, i);

			if (!IS_ERR(dev))
				model->destroy(dev);
		}
		m0 = bench_mem_now();
		for (have = 0; have < BENCH_MEM_N; have++) {
			devs[have] = model->create(&b, have);
			if (IS_ERR(devs[have]))
				break;
		}
		m1 = bench_mem_now();
		for (i = have; i; i--)
			model->destroy(devs[i - 1]);
		bench_unquiet(test);

		KUNIT_ASSERT_EQ_MSG(test, have, BENCH_MEM_N, "%s: %pe", model->name,
				    devs[have]);
		kunit_info(test,
			   "ctxbench: memory model=%s n=%u slab=%ld iommu=%ld percpu=%ld total=%ld\n",
			   model->name, BENCH_MEM_N,
			   bench_per_dev(m1.slab - m0.slab, BENCH_MEM_N),
			   bench_per_dev(m1.iommu - m0.iommu, BENCH_MEM_N),
			   bench_per_dev(m1.percpu - m0.percpu, BENCH_MEM_N),
			   bench_per_dev(m0.free - m1.free, BENCH_MEM_N));
	}
}

#define BENCH_DMA_BATCH		64
#define BENCH_DMA_ROUNDS	150

/* Time BENCH_DMA_BATCH map + unmap pairs; @t[@round] gets ns per pair. */
static bool bench_dma_pair(struct device *dev, struct page *page, size_t size,
			   unsigned long attrs, u64 *t, unsigned int round)
{
	dma_addr_t iova;
	unsigned int i;
	u64 t0;

	t0 = ktime_get_ns();
	for (i = 0; i < BENCH_DMA_BATCH; i++) {
		iova = dma_map_page_attrs(dev, page, 0, size, DMA_TO_DEVICE, attrs);
		if (dma_mapping_error(dev, iova))
			break;
		dma_unmap_page_attrs(dev, iova, size, DMA_TO_DEVICE, attrs);
	}
	t[round] = div_u64(ktime_get_ns() - t0, BENCH_DMA_BATCH);
	return i == BENCH_DMA_BATCH;
}

/*
 * dma_map_page() + dma_unmap_page() of 4 KiB, 64 KiB and 1 MiB, in a
 * context with a window and in one without: both iommu-map contexts with a
 * group of their own and a 32-bit mask. With the CPU cache maintenance of
 * this non-coherent device ("sync") and without it (DMA_ATTR_SKIP_CPU_SYNC),
 * which leaves the IOVA allocator and the page table.
 */
static void context_bus_bench_dma(struct kunit *test)
{
	static const size_t sizes[] = { SZ_4K, SZ_64K, SZ_1M };
	static const unsigned long attrs[] = { 0, DMA_ATTR_SKIP_CPU_SYNC };
	u64 *t[2];
	struct device *dev[2];
	struct page *page;
	unsigned int s, a, r, w;
	struct bench b;
	char ratio[16];

	bench_init(test, &b, "dma", 0);
	dev[0] = bench_map_create(&b, BENCH_SLOT_A);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dev[0]));
	dev[1] = bench_win_create(&b, BENCH_SLOT_B);
	if (IS_ERR(dev[1]))
		bench_ctx_destroy(dev[0]);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dev[1]));
	page = alloc_pages(GFP_KERNEL, get_order(SZ_1M));
	t[0] = kunit_kcalloc(test, BENCH_DMA_ROUNDS, sizeof(u64), GFP_KERNEL);
	t[1] = kunit_kcalloc(test, BENCH_DMA_ROUNDS, sizeof(u64), GFP_KERNEL);

	for (a = 0; page && t[0] && t[1] && a < ARRAY_SIZE(attrs); a++) {
		for (s = 0; s < ARRAY_SIZE(sizes); s++) {
			u64 med[2];
			bool ok = true;

			for (r = 0; r < BENCH_DMA_ROUNDS; r++)
				for (w = 0; w < 2; w++)
					ok &= bench_dma_pair(dev[w], page, sizes[s],
							     attrs[a], t[w], r);
			KUNIT_EXPECT_TRUE(test, ok);
			for (w = 0; w < 2; w++)
				med[w] = bench_stat(t[w], BENCH_DMA_ROUNDS).median;
			/* Throughput ratio: the inverse of the time ratio. */
			bench_ratio(ratio, sizeof(ratio), med[0], med[1]);
			kunit_info(test,
				   "ctxbench: dma mode=%s size=%zu n=%u nowindow=%llu window=%llu ratio=%s\n",
				   attrs[a] ? "skip-sync" : "sync", sizes[s],
				   BENCH_DMA_ROUNDS * BENCH_DMA_BATCH, med[0], med[1], ratio);
		}
	}
	if (page)
		__free_pages(page, get_order(SZ_1M));
	bench_ctx_destroy(dev[1]);
	bench_ctx_destroy(dev[0]);
	KUNIT_EXPECT_NOT_NULL(test, page);
}

static struct kunit_case context_bus_bench_cases[] = {
	KUNIT_CASE_SLOW(context_bus_bench_latency),
	KUNIT_CASE_SLOW(context_bus_bench_scaling),
	KUNIT_CASE_SLOW(context_bus_bench_dma),
	KUNIT_CASE_SLOW(context_bus_bench_memory),
	{}
};

static struct kunit_suite context_bus_bench_suite = {
	.name = "context_bus_bench",
	.test_cases = context_bus_bench_cases,
};

kunit_test_suite(context_bus_bench_suite);

MODULE_DESCRIPTION("Benchmark of the context device bus");
MODULE_LICENSE("GPL");
