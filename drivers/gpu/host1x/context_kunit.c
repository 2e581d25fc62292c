// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of host1x memory contexts on the context device bus. A
 * minimal host whose node has an "iommu-map" to the SMMU gets one context
 * device per function, named host1x-ctx.N, each in its own IOMMU group and
 * with the stream ID of the map; contexts are handed out per process; and
 * freeing the list removes every device from the bus that no process uses,
 * the others once their last user is gone.
 *
 * Needs a live SMMU: run under QEMU virt,iommu=smmuv3
 * (tools/testing/kunit/qemu_configs/arm64_smmuv3.py). Stream IDs 0x300 to
 * 0x3ff are this suite's; arm-smmu-v3 takes one device per stream ID, so
 * every context has its own. The DMA case gives its contexts the stream IDs
 * of QEMU's edu devices instead, whose DMA on command (<kunit/qemu_edu.h>)
 * shows what each context's stream reaches; it is skipped without them.
 */

#include <kunit/device.h>
#include <kunit/context_bus.h>
#include <kunit/expect_stack_dump.h>
#include <kunit/iommu.h>
#include <kunit/of.h>
#include <kunit/qemu_edu.h>
#include <kunit/test.h>
#include <linux/context_bus.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/host1x.h>
#include <linux/iommu.h>
#include <linux/of.h>
#include <linux/of_platform.h>
#include <linux/pid.h>
#include <linux/platform_device.h>
#include <linux/sched.h>
#include <linux/sizes.h>

#include "context.h"
#include "dev.h"

#define HOST1X_KUNIT_SID_LIST		0x300	/* 0x300, 0x301 and 0x310 */
#define HOST1X_KUNIT_SID_ALLOC		0x320	/* 0x320 and 0x321 */
#define HOST1X_KUNIT_SID_LIVE		0x330	/* 0x330 and 0x331 */
#define HOST1X_KUNIT_SID_CLIENT		0x3e0
#define HOST1X_KUNIT_SID_PASSTHROUGH	0x3e8
#define HOST1X_KUNIT_SID_FAULTS		0x3d0	/* 0x3d0 and 0x3d1 */
#define HOST1X_KUNIT_SID_NO_IOMMU	0x3f0

KUNIT_DEFINE_ACTION_WRAPPER(host1x_kunit_list_free, host1x_memory_context_list_free,
			    struct host1x *);
KUNIT_DEFINE_ACTION_WRAPPER(host1x_kunit_put_device, put_device, struct device *);
KUNIT_DEFINE_ACTION_WRAPPER(host1x_kunit_put_pid, put_pid, struct pid *);
KUNIT_DEFINE_ACTION_WRAPPER(host1x_kunit_context_put, host1x_memory_context_put,
			    struct host1x_memory_context *);

/*
 * Add /host1x-kunit-<tag>/host1x, with @map as its iommu-map unless NULL,
 * for the rest of the test. The OF core makes a platform device for the
 * container only, so nothing claims the stream IDs of the map first. With
 * @coherent the node is dma-coherent, and so are the contexts of its map.
 */
static struct device_node *__host1x_kunit_node(struct kunit *test, const char *tag,
					       const u32 *map, size_t len, bool coherent)
{
	struct device_node *box, *np;
	struct of_changeset *ocs;
	char name[32];

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	snprintf(name, sizeof(name), "host1x-kunit-%s", tag);
	box = of_changeset_create_node(ocs, of_root, name);
	KUNIT_ASSERT_NOT_NULL(test, box);
	of_node_put_kunit(test, box);
	np = of_changeset_create_node(ocs, box, "host1x");
	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	if (map)
		KUNIT_ASSERT_EQ(test, 0,
				of_changeset_add_prop_u32_array(ocs, np, "iommu-map", map, len));
	if (coherent)
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_bool(ocs, np, "dma-coherent"));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));
	return np;
}

static struct device_node *host1x_kunit_node(struct kunit *test, const char *tag,
					     const u32 *map, size_t len)
{
	return __host1x_kunit_node(test, tag, map, len, false);
}

/*
 * A host1x with only what the context code uses: a device, bound to a
 * driver as the parent of context devices must be, whose node is @np.
 */
static struct host1x *host1x_kunit_host(struct kunit *test, struct device_node *np,
					const char *tag)
{
	struct host1x *host;
	struct device *dev;
	char name[32];

	host = kunit_kzalloc(test, sizeof(*host), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, host);
	snprintf(name, sizeof(name), "host1x-kunit-%s", tag);
	dev = kunit_device_register(test, name);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	/* No reference: the node is applied before and removed after the device. */
	device_set_node(dev, of_fwnode_handle(np));
	host->dev = dev;
	return host;
}

/* Functions 0-1 on stream IDs 0x300-0x301, function 2 on 0x310. */
static void host1x_context_list_init_creates_devices(struct kunit *test)
{
	static const u32 sids[] = {
		HOST1X_KUNIT_SID_LIST, HOST1X_KUNIT_SID_LIST + 1, HOST1X_KUNIT_SID_LIST + 0x10,
	};
	struct iommu_group *groups[ARRAY_SIZE(sids)] = {};
	struct host1x_memory_context_list *cdl;
	u32 smmu = iommu_kunit_phandle(test);
	struct iommu_domain *domain;
	unsigned int before, i, j;
	struct host1x *host;
	char name[32];
	u32 map[] = {
		0, smmu, sids[0], 2,
		2, smmu, sids[2], 1,
	};

	host = host1x_kunit_host(test, host1x_kunit_node(test, "list", map, ARRAY_SIZE(map)),
				 "list");
	before = context_bus_kunit_count(NULL);

	KUNIT_ASSERT_EQ(test, 0, host1x_memory_context_list_init(host));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, host1x_kunit_list_free, host));
	cdl = host->context_list;
	KUNIT_ASSERT_NOT_NULL(test, cdl);
	KUNIT_ASSERT_EQ(test, cdl->len, ARRAY_SIZE(sids));
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before + ARRAY_SIZE(sids));

	for (i = 0; i < cdl->len; i++) {
		struct device *dev = cdl->devs[i].dev;

		KUNIT_ASSERT_NOT_NULL(test, dev);
		snprintf(name, sizeof(name), "host1x-ctx.%u", i);
		KUNIT_EXPECT_STREQ(test, dev_name(dev), name);
		KUNIT_EXPECT_TRUE(test, dev_is_context_device(dev));
		KUNIT_EXPECT_PTR_EQ(test, dev->parent, host->dev);
		KUNIT_EXPECT_PTR_EQ(test, cdl->devs[i].host, host);
		KUNIT_EXPECT_PTR_EQ(test, cdl->devs[i].list, cdl);
		KUNIT_EXPECT_EQ(test, dma_get_mask(dev), DMA_BIT_MASK(38));
		KUNIT_EXPECT_EQ(test, dev->coherent_dma_mask, DMA_BIT_MASK(38));
		KUNIT_EXPECT_EQ(test, dma_get_max_seg_size(dev), UINT_MAX);
		KUNIT_EXPECT_EQ(test, cdl->devs[i].stream_id, sids[i]);

		KUNIT_ASSERT_TRUE_MSG(test, device_iommu_mapped(dev), "%s has no group", name);
		domain = iommu_get_domain_for_dev(dev);
		KUNIT_ASSERT_NOT_NULL(test, domain);
		KUNIT_EXPECT_TRUE(test, domain->type & __IOMMU_DOMAIN_DMA_API);

		groups[i] = iommu_group_get(dev);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_PTR_NE_MSG(test, groups[i], groups[j],
						"contexts %u and %u share a group", j, i);
	}
	for (i = 0; i < ARRAY_SIZE(groups); i++)
		iommu_group_put(groups[i]);

	/* No context is in use: every device goes at once. */
	host1x_memory_context_list_free(host);
	KUNIT_EXPECT_NULL(test, host->context_list);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
	for (i = 0; i < ARRAY_SIZE(sids); i++) {
		snprintf(name, sizeof(name), "host1x-ctx.%u", i);
		KUNIT_EXPECT_FALSE_MSG(test, context_bus_kunit_has(name), "%s is left", name);
	}
}

/* A client engine behind the same SMMU, as a platform device of its own. */
static struct device *host1x_kunit_client(struct kunit *test, u32 smmu)
{
	u32 iommus[] = { smmu, HOST1X_KUNIT_SID_CLIENT };
	struct platform_device *pdev;
	struct of_changeset *ocs;
	struct device_node *np;

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	np = of_changeset_create_node(ocs, of_root, "host1x-kunit-client");
	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, np, "iommus", iommus,
								 ARRAY_SIZE(iommus)));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));

	pdev = of_find_device_by_node(np);
	KUNIT_ASSERT_NOT_NULL_MSG(test, pdev, "no platform device for %pOF", np);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, host1x_kunit_put_device, &pdev->dev));
	KUNIT_ASSERT_TRUE(test, device_iommu_mapped(&pdev->dev));
	return &pdev->dev;
}

static struct pid *host1x_kunit_pid(struct kunit *test, struct pid *pid)
{
	KUNIT_ASSERT_NOT_NULL(test, pid);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, host1x_kunit_put_pid, pid));
	return pid;
}

/*
 * Two contexts, three processes: a process gets its own context back, a
 * second one the other context, the third none until a context is put.
 */
static void host1x_context_alloc_put(struct kunit *test)
{
	struct host1x_memory_context *ca, *cb, *cc;
	u32 smmu = iommu_kunit_phandle(test);
	struct pid *a, *b, *c;
	struct host1x *host;
	struct device *client;
	u32 map[] = { 0, smmu, HOST1X_KUNIT_SID_ALLOC, 2 };

	host = host1x_kunit_host(test, host1x_kunit_node(test, "alloc", map, ARRAY_SIZE(map)),
				 "alloc");
	KUNIT_ASSERT_EQ(test, 0, host1x_memory_context_list_init(host));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, host1x_kunit_list_free, host));
	KUNIT_ASSERT_NOT_NULL(test, host->context_list);
	KUNIT_ASSERT_EQ(test, host->context_list->len, 2);
	client = host1x_kunit_client(test, smmu);

	/* Any three distinct processes will do: this one, init and kthreadd. */
	a = host1x_kunit_pid(test, get_task_pid(current, PIDTYPE_TGID));
	b = host1x_kunit_pid(test, find_get_pid(1));
	c = host1x_kunit_pid(test, find_get_pid(2));
	KUNIT_ASSERT_PTR_NE(test, a, b);

	ca = host1x_memory_context_alloc(host, client, a);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ca);
	KUNIT_EXPECT_PTR_EQ(test, ca->owner, a);
	KUNIT_EXPECT_PTR_EQ(test, host1x_memory_context_alloc(host, client, a), ca);
	KUNIT_EXPECT_EQ(test, refcount_read(&ca->ref), 2);

	cb = host1x_memory_context_alloc(host, client, b);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, cb);
	KUNIT_EXPECT_PTR_NE(test, cb, ca);
	KUNIT_EXPECT_PTR_NE(test, cb->dev, ca->dev);

	KUNIT_EXPECT_PTR_EQ(test, host1x_memory_context_alloc(host, client, c),
			    ERR_PTR(-EBUSY));

	host1x_memory_context_put(cb);
	KUNIT_EXPECT_NULL(test, cb->owner);
	cc = host1x_memory_context_alloc(host, client, c);
	KUNIT_EXPECT_PTR_EQ(test, cc, cb);
	if (!IS_ERR_OR_NULL(cc))
		host1x_memory_context_put(cc);

	host1x_memory_context_get(ca);
	host1x_memory_context_put(ca);
	host1x_memory_context_put(ca);
	KUNIT_EXPECT_PTR_EQ(test, ca->owner, a);
	host1x_memory_context_put(ca);
	KUNIT_EXPECT_NULL(test, ca->owner);
}

/*
 * host1x goes while a process has a buffer mapped through its context, as
 * when the driver is unbound under an open DRM file: that context's device
 * stays on the bus, in its group and domain, until the process puts the
 * context after unmapping, even once host1x's device and struct are gone;
 * the unused context's device goes at once.
 */
static void host1x_context_outlives_host_while_used(struct kunit *test)
{
	u32 smmu = iommu_kunit_phandle(test);
	u32 map[] = { 0, smmu, HOST1X_KUNIT_SID_LIVE, 2 };
	struct host1x_memory_context *cd;
	struct iommu_domain *domain;
	unsigned int before;
	struct device *client;
	struct host1x *host;
	struct page *page;
	struct pid *pid, *other;
	dma_addr_t iova;

	host = host1x_kunit_host(test, host1x_kunit_node(test, "live", map, ARRAY_SIZE(map)),
				 "live");
	before = context_bus_kunit_count(NULL);
	KUNIT_ASSERT_EQ(test, 0, host1x_memory_context_list_init(host));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, host1x_kunit_list_free, host));
	client = host1x_kunit_client(test, smmu);
	pid = host1x_kunit_pid(test, get_task_pid(current, PIDTYPE_TGID));
	other = host1x_kunit_pid(test, find_get_pid(1));
	KUNIT_ASSERT_PTR_NE(test, pid, other);

	cd = host1x_memory_context_alloc(host, client, pid);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, cd);
	KUNIT_ASSERT_STREQ(test, dev_name(cd->dev), "host1x-ctx.0");
	domain = iommu_get_domain_for_dev(cd->dev);
	KUNIT_ASSERT_NOT_NULL(test, domain);
	page = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	iova = dma_map_page(cd->dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_FALSE(test, dma_mapping_error(cd->dev, iova));
	KUNIT_EXPECT_EQ(test, iommu_iova_to_phys(domain, iova), page_to_phys(page));

	/*
	 * host1x goes, as in its remove(), and then its device and its struct
	 * (devm memory on a real host1x): the context in use stays, the
	 * other one does not, and nothing touches the struct host1x again.
	 */
	kunit_release_action(test, host1x_kunit_list_free, host);

	/*
	 * An alloc that read host1x->context_list before remove() cleared
	 * it (a Tegra DRM channel open racing the unbind) finds the list
	 * dead, and no context device, gone or in use by another process.
	 */
	host->context_list = cd->list;
	KUNIT_EXPECT_PTR_EQ(test, host1x_memory_context_alloc(host, client, other),
			    ERR_PTR(-ENODEV));
	KUNIT_EXPECT_PTR_EQ(test, host1x_memory_context_alloc(host, client, pid),
			    ERR_PTR(-ENODEV));
	host->context_list = NULL;

	kunit_device_unregister(test, host->dev);
	kunit_kfree(test, host);
	KUNIT_ASSERT_TRUE_MSG(test, context_bus_kunit_has("host1x-ctx.0"),
			      "the context in use went with host1x");
	KUNIT_EXPECT_FALSE(test, context_bus_kunit_has("host1x-ctx.1"));
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before + 1);
	KUNIT_ASSERT_PTR_EQ(test, iommu_get_domain_for_dev(cd->dev), domain);
	KUNIT_EXPECT_EQ(test, iommu_iova_to_phys(domain, iova), page_to_phys(page));

	/* Unmapped through the IOMMU that mapped it; then the last user goes. */
	dma_unmap_page(cd->dev, iova, PAGE_SIZE, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, iommu_iova_to_phys(domain, iova), 0);
	__free_page(page);
	host1x_memory_context_put(cd);
	KUNIT_EXPECT_FALSE(test, context_bus_kunit_has("host1x-ctx.0"));
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
}

/* A host without iommu-map has no contexts, as before. */
static void host1x_context_none_without_iommu_map(struct kunit *test)
{
	unsigned int before = context_bus_kunit_count(NULL);
	struct host1x *host;
	struct pid *pid;

	host = host1x_kunit_host(test, host1x_kunit_node(test, "nomap", NULL, 0), "nomap");
	KUNIT_ASSERT_EQ(test, 0, host1x_memory_context_list_init(host));
	KUNIT_EXPECT_NULL(test, host->context_list);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
	pid = host1x_kunit_pid(test, get_task_pid(current, PIDTYPE_TGID));
	KUNIT_EXPECT_PTR_EQ(test, host1x_memory_context_alloc(host, host->dev, pid),
			    ERR_PTR(-EOPNOTSUPP));
}

/*
 * A map to an IOMMU that is not there fails, so that host1x fails to
 * probe, and leaves nothing behind. The IOMMU node is disabled, which
 * of_iommu_xlate() reports at once.
 */
static void host1x_context_without_iommu_fails(struct kunit *test)
{
	u32 map[] = { 0, iommu_kunit_absent_phandle(test), HOST1X_KUNIT_SID_NO_IOMMU, 1 };
	struct host1x *host;
	unsigned int before;

	host = host1x_kunit_host(test, host1x_kunit_node(test, "noiommu", map, ARRAY_SIZE(map)),
				 "noiommu");
	before = context_bus_kunit_count(NULL);
	KUNIT_EXPECT_EQ(test, host1x_memory_context_list_init(host), -EINVAL);
	KUNIT_EXPECT_NULL(test, host->context_list);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
	KUNIT_EXPECT_FALSE(test, context_bus_kunit_has("host1x-ctx.0"));
}

/*
 * With iommu.passthrough=1 the contexts get identity domains: host1x takes
 * them as it did before it moved to the context device bus.
 */
static void host1x_context_passthrough(struct kunit *test)
{
	u32 map[] = { 0, iommu_kunit_phandle(test), HOST1X_KUNIT_SID_PASSTHROUGH, 1 };
	struct iommu_domain *domain;
	struct host1x *host;

	host = host1x_kunit_host(test, host1x_kunit_node(test, "pt", map, ARRAY_SIZE(map)),
				 "pt");
	iommu_kunit_default_passthrough(test);
	KUNIT_ASSERT_EQ(test, 0, host1x_memory_context_list_init(host));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, host1x_kunit_list_free, host));
	KUNIT_ASSERT_NOT_NULL(test, host->context_list);
	KUNIT_ASSERT_EQ(test, host->context_list->len, 1);
	domain = iommu_get_domain_for_dev(host->context_list->devs[0].dev);
	KUNIT_ASSERT_NOT_NULL(test, domain);
	KUNIT_EXPECT_EQ(test, domain->type, IOMMU_DOMAIN_IDENTITY);
}

/* The context of process @pid, put when the test ends. */
static struct host1x_memory_context *host1x_kunit_context(struct kunit *test,
							  struct host1x *host,
							  struct device *client, struct pid *pid)
{
	struct host1x_memory_context *cd = host1x_memory_context_alloc(host, client, pid);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, cd);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, host1x_kunit_context_put, cd));
	return cd;
}

/*
 * Real DMA, by QEMU's edu devices, through two contexts on their stream
 * IDs, handed to two processes: a buffer mapped through the first
 * process's context is reached, read and write, by that context's stream,
 * and not at all by the other's, which maps nothing at that IOVA. The
 * buffer is 64 KiB so that the page tried is not the top page of the other
 * context's IOVA space, which the helper's own transfers through it take
 * (and give back) first.
 */
static void host1x_context_dma_is_isolated(struct kunit *test)
{
	const struct qemu_edu *edu0 = qemu_edu_kunit_get(test, 0);
	const struct qemu_edu *edu1 = qemu_edu_kunit_get(test, 1);
	u32 map[] = {
		0, edu0->iommu, edu0->sid, 1,
		1, edu1->iommu, edu1->sid, 1,
	};
	const struct qemu_edu *edu_a, *edu_b;
	struct host1x_memory_context *ca, *cb;
	struct qemu_edu_buf *buf;
	struct device *client;
	struct host1x *host;
	struct pid *a, *b;
	char name[64];
	u8 *pattern;

	/* dma-coherent, as QEMU's PCI host is: reach() needs it. */
	host = host1x_kunit_host(test, __host1x_kunit_node(test, "dma", map, ARRAY_SIZE(map), true),
				 "dma");
	KUNIT_ASSERT_EQ(test, 0, host1x_memory_context_list_init(host));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, host1x_kunit_list_free, host));
	KUNIT_ASSERT_NOT_NULL(test, host->context_list);
	KUNIT_ASSERT_EQ(test, host->context_list->len, 2);
	client = host1x_kunit_client(test, edu0->iommu);

	/* Two processes, two contexts: whichever each gets, find its edu. */
	a = host1x_kunit_pid(test, get_task_pid(current, PIDTYPE_TGID));
	b = host1x_kunit_pid(test, find_get_pid(1));
	KUNIT_ASSERT_PTR_NE(test, a, b);
	ca = host1x_kunit_context(test, host, client, a);
	cb = host1x_kunit_context(test, host, client, b);
	KUNIT_ASSERT_PTR_NE(test, ca->dev, cb->dev);
	edu_a = ca->stream_id == edu0->sid ? edu0 : edu1;
	edu_b = edu_a == edu0 ? edu1 : edu0;
	KUNIT_ASSERT_EQ(test, ca->stream_id, edu_a->sid);
	KUNIT_ASSERT_EQ(test, cb->stream_id, edu_b->sid);

	buf = qemu_edu_kunit_map(test, ca->dev, SZ_64K);
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu_a, ca->dev, buf->iova,
							       buf->cpu, QEMU_EDU_DMA_MAX),
				    true, true, "a buffer by its context's stream");
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu_b, cb->dev, buf->iova,
							       buf->cpu, QEMU_EDU_DMA_MAX),
				    false, false, "a buffer by the other context's stream");

	/*
	 * Then the buffer is unmapped, both contexts are put and the list is
	 * freed: the context devices go, and A's stream, with no device on
	 * it, writes neither to the buffer's old IOVA nor to its physical
	 * address, where a stream left in bypass would. The edu keeps a
	 * pattern, so a write that lands shows.
	 */
	pattern = kunit_kmalloc(test, QEMU_EDU_DMA_MAX, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pattern);
	memset(pattern, 0x3c, QEMU_EDU_DMA_MAX);
	qemu_edu_kunit_load(test, edu_a, ca->dev, pattern, QEMU_EDU_DMA_MAX);
	strscpy(name, dev_name(ca->dev));
	qemu_edu_kunit_unmap(test, buf);
	kunit_release_action(test, host1x_kunit_context_put, cb);
	kunit_release_action(test, host1x_kunit_context_put, ca);
	kunit_release_action(test, host1x_kunit_list_free, host);
	KUNIT_ASSERT_FALSE_MSG(test, context_bus_kunit_has(name), "%s is left", name);

	memset(buf->cpu, 0x5a, QEMU_EDU_DMA_MAX);
	qemu_edu_kunit_dma(test, edu_a, buf->iova, QEMU_EDU_DMA_MAX, true);
	qemu_edu_kunit_dma(test, edu_a, virt_to_phys(buf->cpu), QEMU_EDU_DMA_MAX, true);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(buf->cpu, 0x5a, QEMU_EDU_DMA_MAX),
			      "a write of stream %#x landed after its context went", edu_a->sid);
}

/*
 * Fail the n-th allocation of host1x_memory_context_list_init(), for n = 1,
 * 2, ... until it meets no fault: a failed init leaves no context device
 * and an empty list. Needs failslab and fail_page_alloc with
 * ignore-gfp-wait cleared in debugfs.
 */
static void host1x_context_list_init_fault_injection(struct kunit *test)
{
	u32 map[] = { 0, iommu_kunit_phandle(test), HOST1X_KUNIT_SID_FAULTS, 2 };
	unsigned int n, before, refused = 0, absorbed = 0;
	struct host1x *host;
	bool fired = false;
	int err;

	if (!IS_ENABLED(CONFIG_FAULT_INJECTION))
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
	host = host1x_kunit_host(test, host1x_kunit_node(test, "faults", map, ARRAY_SIZE(map)),
				 "faults");
	before = context_bus_kunit_count(NULL);

	for (n = 1; n < 100000; n++) {
		kunit_expect_stack_dump(test, CONTEXT_BUS_KUNIT_FAULT_WARNS) {
			context_bus_kunit_fault_arm(n);
			err = host1x_memory_context_list_init(host);
			fired = context_bus_kunit_fault_fired();
		}
		if (err) {
			KUNIT_EXPECT_NULL_MSG(test, host->context_list, "fault %u: %d", n, err);
		} else if (host->context_list) {
			KUNIT_EXPECT_EQ_MSG(test, host->context_list->len, 2, "fault %u", n);
			host1x_memory_context_list_free(host);
		} else {
			KUNIT_FAIL(test, "fault %u: no list and no error", n);
		}
		KUNIT_EXPECT_EQ_MSG(test, context_bus_kunit_count(NULL), before, "fault %u", n);
		if (!fired) {
			KUNIT_EXPECT_EQ(test, err, 0);
			break;
		}
		if (err)
			refused++;
		else
			absorbed++;
		if (test->status == KUNIT_FAILURE)
			break;
	}
	kunit_info(test, "%u fault points: %u refused, %u absorbed\n", n - 1, refused, absorbed);
	if (n == 1 && !fired)
		kunit_skip(test, CONTEXT_BUS_KUNIT_NO_FAULT);
}

static struct kunit_case host1x_context_test_cases[] = {
	KUNIT_CASE(host1x_context_list_init_creates_devices),
	KUNIT_CASE(host1x_context_alloc_put),
	KUNIT_CASE(host1x_context_outlives_host_while_used),
	KUNIT_CASE(host1x_context_dma_is_isolated),
	KUNIT_CASE(host1x_context_none_without_iommu_map),
	KUNIT_CASE(host1x_context_without_iommu_fails),
	KUNIT_CASE(host1x_context_passthrough),
	KUNIT_CASE(host1x_context_list_init_fault_injection),
	{}
};

static struct kunit_suite host1x_context_test_suite = {
	.name = "host1x_context",
	.test_cases = host1x_context_test_cases,
};

kunit_test_suite(host1x_context_test_suite);
