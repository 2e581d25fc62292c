// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of FastRPC compute banks (CBs) on the context device bus.
 * Included by fastrpc.c: they look at its channel and session table.
 *
 * A test rpmsg device, on a test transport without a DSP, carries a
 * "qcom,fastrpc" CDSP node built at run time, and the real
 * fastrpc_rpmsg_probe() runs on it. Each CB node has "iommus" to the SMMU:
 * it must become one context device, however many sessions share it, and
 * every session must exist before a device node is registered, which a
 * static stub on fastrpc_misc_register() records as it happens.
 *
 * Needs a live SMMU: run under QEMU virt,iommu=smmuv3
 * (tools/testing/kunit/qemu_configs/arm64_smmuv3.py). Stream IDs 0x400 to
 * 0x4ff are this suite's; a CB's "reg" is its stream ID here. The DMA case
 * gives its CBs the stream IDs of QEMU's edu devices instead, whose DMA on
 * command (<kunit/qemu_edu.h>) shows what each CB's stream reaches; it is
 * skipped without them.
 */

#include <kunit/device.h>
#include <kunit/context_bus.h>
#include <kunit/expect_stack_dump.h>
#include <kunit/iommu.h>
#include <kunit/of.h>
#include <kunit/qemu_edu.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/file.h>
#include <linux/iommu.h>

/* The test transport implements the ops that are private to rpmsg. */
#include "../rpmsg/rpmsg_internal.h"

#define FASTRPC_KUNIT_SID	0x400	/* CBs 0x401 to 0x403 */
#define FASTRPC_KUNIT_SID_FAIL	0x410	/* CBs 0x411 and 0x412 */
#define FASTRPC_KUNIT_SID_FAULTS	0x420	/* CBs 0x421 and 0x422 */
#define FASTRPC_KUNIT_SID_LIVE	0x430	/* CB 0x431 */
#define FASTRPC_KUNIT_TAG_DMA	0x440	/* names the channel; its CBs are the edus' */
#define FASTRPC_KUNIT_SID_IDENTITY	0x450	/* CB 0x451 */
#define FASTRPC_KUNIT_SID_MASKS	0x460	/* CB 0x461 */

/* What the channel looked like when a device node was registered. */
struct fastrpc_kunit_node {
	char name[32];
	int sesscount;
	int cbcount;
	unsigned int children;	/* context devices of the rpmsg device */
	bool sessions_ready;	/* each valid, with a device */
	bool channel_ready;	/* refcount, lists, drvdata, DMA mask */
};

struct fastrpc_kunit {
	struct rpmsg_device *rpdev;
	struct fastrpc_kunit_node nodes[2];
	unsigned int nnodes;
};

/* The rpmsg device of the test transport and its only endpoint. */
struct fastrpc_kunit_rpdev {
	struct rpmsg_device rpdev;
	struct rpmsg_endpoint ept;
};

/*
 * One CB node: reg, the phandle of its IOMMU, qcom,nsessions (0: none) and
 * whether it is dma-coherent.
 */
struct fastrpc_kunit_cb {
	u32 reg;
	u32 iommu;
	u32 nsessions;
	bool coherent;
};

KUNIT_DEFINE_ACTION_WRAPPER(fastrpc_kunit_unregister, device_unregister, struct device *);
KUNIT_DEFINE_ACTION_WRAPPER(fastrpc_kunit_buf_free, fastrpc_buf_free, struct fastrpc_buf *);

/* Closes a file fastrpc_device_open() opened, as the last close(2) would. */
static void fastrpc_kunit_release(void *file)
{
	fastrpc_device_release(NULL, file);
}

/* Static stub: note what exists, then register as the driver would. */
static int fastrpc_kunit_misc_register(struct miscdevice *miscdev)
{
	struct kunit *test = kunit_get_current_test();
	struct fastrpc_channel_ctx *cctx = miscdev_to_fdevice(miscdev)->cctx;
	struct fastrpc_kunit *fk = test->priv;
	struct fastrpc_kunit_node *node;
	int i;

	if (fk->nnodes < ARRAY_SIZE(fk->nodes)) {
		node = &fk->nodes[fk->nnodes++];
		strscpy(node->name, miscdev->name);
		node->sesscount = cctx->sesscount;
		node->cbcount = cctx->cbcount;
		node->children = context_bus_kunit_count(&fk->rpdev->dev);
		node->sessions_ready = true;
		for (i = 0; i < cctx->sesscount; i++)
			if (!cctx->session[i].valid || !cctx->session[i].dev)
				node->sessions_ready = false;
		node->channel_ready = kref_read(&cctx->refcount) == 1 &&
				      list_empty(&cctx->users) &&
				      list_empty(&cctx->invoke_interrupted_mmaps) &&
				      cctx->rpdev == fk->rpdev &&
				      dev_get_drvdata(&fk->rpdev->dev) == cctx &&
				      dma_get_mask(&fk->rpdev->dev) == DMA_BIT_MASK(32);
	}

	return misc_register(miscdev);
}

/* There is no DSP: nothing is ever sent. */
static int fastrpc_kunit_send(struct rpmsg_endpoint *ept, const void *data, int len)
{
	return -ENODEV;
}

/* The endpoint is freed with its device. */
static void fastrpc_kunit_destroy_ept(struct rpmsg_endpoint *ept)
{
}

static const struct rpmsg_endpoint_ops fastrpc_kunit_ept_ops = {
	.destroy_ept = fastrpc_kunit_destroy_ept,
	.send = fastrpc_kunit_send,
	.trysend = fastrpc_kunit_send,
};

static struct rpmsg_endpoint *fastrpc_kunit_create_ept(struct rpmsg_device *rpdev,
						       rpmsg_rx_cb_t cb, void *priv,
						       struct rpmsg_channel_info chinfo)
{
	struct fastrpc_kunit_rpdev *frp = container_of(rpdev, struct fastrpc_kunit_rpdev, rpdev);
	struct rpmsg_endpoint *ept = &frp->ept;

	kref_init(&ept->refcount);
	mutex_init(&ept->cb_lock);
	ept->rpdev = rpdev;
	ept->cb = cb;
	ept->priv = priv;
	ept->addr = chinfo.src;
	ept->ops = &fastrpc_kunit_ept_ops;
	return ept;
}

static const struct rpmsg_device_ops fastrpc_kunit_rpdev_ops = {
	.create_ept = fastrpc_kunit_create_ept,
};

static void fastrpc_kunit_rpdev_release(struct device *dev)
{
	struct fastrpc_kunit_rpdev *frp = container_of(dev, struct fastrpc_kunit_rpdev,
						       rpdev.dev);

	of_node_put(dev->of_node);
	kfree(frp);
}

/*
 * Register a channel device for node @np below a fake transport device, as
 * the rpmsg transports do: the rpmsg bus matches it with the FastRPC
 * driver by its node and probes it before this returns.
 */
static struct rpmsg_device *fastrpc_kunit_register(struct kunit *test, struct device_node *np)
{
	struct fastrpc_kunit *fk = test->priv;
	static atomic_t fastrpc_kunit_serial = ATOMIC_INIT(0);
	struct fastrpc_kunit_rpdev *frp;
	struct device *transport;
	char name[64];
	int ret;

	/*
	 * A name of its own: with DEBUG_KOBJECT_RELEASE the driver of the
	 * last test's transport keeps its sysfs name for a few seconds.
	 */
	snprintf(name, sizeof(name), "fastrpc-kunit-%pOFn-%x", np->parent,
		 atomic_inc_return(&fastrpc_kunit_serial));
	transport = kunit_device_register(test, name);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, transport);

	frp = kzalloc_obj(*frp);
	KUNIT_ASSERT_NOT_NULL(test, frp);
	strscpy(frp->rpdev.id.name, "fastrpcglink-apps-dsp");
	frp->rpdev.ops = &fastrpc_kunit_rpdev_ops;
	frp->rpdev.dev.parent = transport;
	frp->rpdev.dev.release = fastrpc_kunit_rpdev_release;
	device_set_node(&frp->rpdev.dev, of_fwnode_handle(of_node_get(np)));
	fk->rpdev = &frp->rpdev;

	/* On failure the rpmsg core has dropped the device: it is freed. */
	ret = rpmsg_register_device(&frp->rpdev);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, fastrpc_kunit_unregister,
							   &frp->rpdev.dev));
	return &frp->rpdev;
}

/* Register a channel device for @np, as above, and return its channel. */
static struct fastrpc_channel_ctx *fastrpc_kunit_probe(struct kunit *test, struct device_node *np)
{
	struct rpmsg_device *rpdev = fastrpc_kunit_register(test, np);
	struct fastrpc_channel_ctx *cctx;

	KUNIT_ASSERT_PTR_EQ_MSG(test, rpdev->dev.driver, &fastrpc_driver.drv,
				"FastRPC did not bind %s", dev_name(&rpdev->dev));
	cctx = dev_get_drvdata(&rpdev->dev);
	KUNIT_ASSERT_NOT_NULL(test, cctx);
	return cctx;
}

/*
 * Add /fastrpc-kunit-<tag>/fastrpc, a CDSP channel of SoC @compatible with
 * the CBs @cbs, for the rest of the test. The OF core makes a platform
 * device for the container only: the channel is the rpmsg device's, the
 * CBs nobody's.
 */
static struct device_node *fastrpc_kunit_soc_channel(struct kunit *test, u32 tag,
						     const char *compatible,
						     const struct fastrpc_kunit_cb *cbs,
						     unsigned int n)
{
	struct device_node *box, *np, *cb;
	struct of_changeset *ocs;
	unsigned int i;
	char name[32];

	ocs = of_changeset_create_kunit(test);
	KUNIT_ASSERT_NOT_NULL(test, ocs);
	snprintf(name, sizeof(name), "fastrpc-kunit-%x", tag);
	box = of_changeset_create_node(ocs, of_root, name);
	KUNIT_ASSERT_NOT_NULL(test, box);
	of_node_put_kunit(test, box);
	np = of_changeset_create_node(ocs, box, "fastrpc");
	KUNIT_ASSERT_NOT_NULL(test, np);
	of_node_put_kunit(test, np);
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_string(ocs, np, "compatible",
							      compatible));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_string(ocs, np, "label", "cdsp"));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, np, "#address-cells", 1));
	KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, np, "#size-cells", 0));

	for (i = 0; i < n; i++) {
		u32 iommus[] = { cbs[i].iommu, cbs[i].reg };

		snprintf(name, sizeof(name), "compute-cb@%x", cbs[i].reg);
		cb = of_changeset_create_node(ocs, np, name);
		KUNIT_ASSERT_NOT_NULL(test, cb);
		of_node_put_kunit(test, cb);
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_string(ocs, cb, "compatible",
								      "qcom,fastrpc-compute-cb"));
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32(ocs, cb, "reg", cbs[i].reg));
		KUNIT_ASSERT_EQ(test, 0, of_changeset_add_prop_u32_array(ocs, cb, "iommus", iommus,
									 ARRAY_SIZE(iommus)));
		if (cbs[i].nsessions)
			KUNIT_ASSERT_EQ(test, 0,
					of_changeset_add_prop_u32(ocs, cb, "qcom,nsessions",
								  cbs[i].nsessions));
		if (cbs[i].coherent)
			KUNIT_ASSERT_EQ(test, 0,
					of_changeset_add_prop_bool(ocs, cb, "dma-coherent"));
	}
	KUNIT_ASSERT_EQ(test, 0, of_changeset_apply_kunit(test, ocs));
	return np;
}

static struct device_node *fastrpc_kunit_channel(struct kunit *test, u32 tag,
						 const struct fastrpc_kunit_cb *cbs,
						 unsigned int n)
{
	return fastrpc_kunit_soc_channel(test, tag, "qcom,fastrpc", cbs, n);
}

/* The CB context device of stream @sid: checked, then returned. */
static struct device *fastrpc_kunit_expect_cb(struct kunit *test,
					      struct fastrpc_channel_ctx *cctx, u32 sid)
{
	struct iommu_fwspec *fwspec;
	struct iommu_domain *domain;
	struct device *dev = NULL;
	char name[128];
	u32 reg;
	int i;

	for (i = 0; i < cctx->cbcount; i++)
		if (!of_property_read_u32(cctx->cbs[i]->dev.of_node, "reg", &reg) && reg == sid)
			dev = &cctx->cbs[i]->dev;
	KUNIT_ASSERT_NOT_NULL_MSG(test, dev, "no context device for CB %#x", sid);

	/* fn_id is the CB's reg: the default name ends with it. */
	snprintf(name, sizeof(name), "%s:ctx.%u", dev_name(dev->parent), sid);
	KUNIT_EXPECT_STREQ(test, dev_name(dev), name);
	KUNIT_EXPECT_TRUE(test, dev_is_context_device(dev));
	KUNIT_EXPECT_PTR_EQ(test, dev->parent, &cctx->rpdev->dev);
	KUNIT_EXPECT_TRUE(test, of_device_is_compatible(dev->of_node, "qcom,fastrpc-compute-cb"));
	KUNIT_EXPECT_EQ(test, dma_get_mask(dev),
			DMA_BIT_MASK(cctx->soc_data->dma_addr_bits_cdsp));

	KUNIT_ASSERT_TRUE_MSG(test, device_iommu_mapped(dev), "%s has no IOMMU group", name);
	fwspec = dev_iommu_fwspec_get(dev);
	KUNIT_ASSERT_NOT_NULL(test, fwspec);
	KUNIT_ASSERT_EQ(test, fwspec->num_ids, 1);
	KUNIT_EXPECT_EQ(test, fwspec->ids[0], sid);
	domain = iommu_get_domain_for_dev(dev);
	KUNIT_ASSERT_NOT_NULL(test, domain);
	KUNIT_EXPECT_TRUE(test, domain->type & __IOMMU_DOMAIN_DMA_API);
	return dev;
}

/*
 * Three CBs, the second shared by three sessions: three context devices,
 * each in its own group, five sessions, and the device nodes registered
 * only once all of them exist. Removing the channel removes the devices.
 */
static void fastrpc_probe_creates_cbs_before_nodes(struct kunit *test)
{
	u32 smmu = iommu_kunit_phandle(test);
	const struct fastrpc_kunit_cb cbs[] = {
		{ FASTRPC_KUNIT_SID + 1, smmu, 0 },
		{ FASTRPC_KUNIT_SID + 2, smmu, 3 },
		{ FASTRPC_KUNIT_SID + 3, smmu, 0 },
	};
	static const char * const names[] = { "fastrpc-cdsp-secure", "fastrpc-cdsp" };
	struct fastrpc_kunit *fk = test->priv;
	struct iommu_group *groups[ARRAY_SIZE(cbs)] = {};
	char cb_names[ARRAY_SIZE(cbs)][64];
	struct fastrpc_channel_ctx *cctx;
	struct device *devs[ARRAY_SIZE(cbs)];
	struct rpmsg_device *rpdev;
	unsigned int before, i, j, n;

	before = context_bus_kunit_count(NULL);
	cctx = fastrpc_kunit_probe(test, fastrpc_kunit_channel(test, FASTRPC_KUNIT_SID,
							       cbs, ARRAY_SIZE(cbs)));
	rpdev = cctx->rpdev;

	/* One context device per CB, each in a group of its own. */
	KUNIT_ASSERT_EQ(test, cctx->cbcount, ARRAY_SIZE(cbs));
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(&rpdev->dev), ARRAY_SIZE(cbs));
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before + ARRAY_SIZE(cbs));
	for (i = 0; i < ARRAY_SIZE(cbs); i++) {
		devs[i] = fastrpc_kunit_expect_cb(test, cctx, cbs[i].reg);
		strscpy(cb_names[i], dev_name(devs[i]));
		groups[i] = iommu_group_get(devs[i]);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_PTR_NE_MSG(test, groups[i], groups[j],
						"CBs %#x and %#x share a group",
						cbs[j].reg, cbs[i].reg);
	}
	for (i = 0; i < ARRAY_SIZE(groups); i++)
		iommu_group_put(groups[i]);

	/* qcom,nsessions = <3> gives three sessions on one device. */
	KUNIT_ASSERT_EQ(test, cctx->sesscount, 5);
	for (i = 0; i < ARRAY_SIZE(cbs); i++) {
		n = 0;
		for (j = 0; j < cctx->sesscount; j++) {
			if (cctx->session[j].sid != cbs[i].reg)
				continue;
			n++;
			KUNIT_EXPECT_PTR_EQ(test, cctx->session[j].dev, devs[i]);
			KUNIT_EXPECT_TRUE(test, cctx->session[j].valid);
			KUNIT_EXPECT_FALSE(test, cctx->session[j].used);
		}
		KUNIT_EXPECT_EQ_MSG(test, n, cbs[i].nsessions ?: 1, "sessions of CB %#x",
				    cbs[i].reg);
	}

	/* Both device nodes, each registered once the channel was complete. */
	KUNIT_ASSERT_EQ(test, fk->nnodes, ARRAY_SIZE(names));
	for (i = 0; i < fk->nnodes; i++) {
		struct fastrpc_kunit_node *node = &fk->nodes[i];

		KUNIT_EXPECT_STREQ(test, node->name, names[i]);
		KUNIT_EXPECT_EQ_MSG(test, node->cbcount, ARRAY_SIZE(cbs), "at %s", node->name);
		KUNIT_EXPECT_EQ_MSG(test, node->children, ARRAY_SIZE(cbs), "at %s", node->name);
		KUNIT_EXPECT_EQ_MSG(test, node->sesscount, 5, "at %s", node->name);
		KUNIT_EXPECT_TRUE_MSG(test, node->sessions_ready, "at %s", node->name);
		KUNIT_EXPECT_TRUE_MSG(test, node->channel_ready, "at %s", node->name);
	}
	KUNIT_ASSERT_NOT_NULL(test, cctx->secure_fdevice);
	KUNIT_ASSERT_NOT_NULL(test, cctx->fdevice);
	KUNIT_EXPECT_NOT_NULL(test, cctx->secure_fdevice->miscdev.this_device);
	KUNIT_EXPECT_NOT_NULL(test, cctx->fdevice->miscdev.this_device);

	/* The channel and its devices go; cctx may be freed from here. */
	kunit_release_action(test, fastrpc_kunit_unregister, &rpdev->dev);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
	for (i = 0; i < ARRAY_SIZE(cbs); i++)
		KUNIT_EXPECT_FALSE_MSG(test, context_bus_kunit_has(cb_names[i]), "%s is left",
				       cb_names[i]);
}

/*
 * A CB whose IOMMU is not there fails the probe, with no device node
 * registered and no context device left: the nodes of a changeset are
 * attached in reverse, so the good CB, added last, is created first and
 * must be destroyed again.
 */
static void fastrpc_probe_fails_without_iommu(struct kunit *test)
{
	u32 smmu = iommu_kunit_phandle(test);
	const struct fastrpc_kunit_cb cbs[] = {
		{ FASTRPC_KUNIT_SID_FAIL + 1, iommu_kunit_absent_phandle(test), 0 },
		{ FASTRPC_KUNIT_SID_FAIL + 2, smmu, 0 },
	};
	struct fastrpc_kunit *fk = test->priv;
	struct rpmsg_device *rpdev;
	unsigned int before;

	before = context_bus_kunit_count(NULL);
	rpdev = fastrpc_kunit_register(test, fastrpc_kunit_channel(test, FASTRPC_KUNIT_SID_FAIL,
								   cbs, ARRAY_SIZE(cbs)));
	KUNIT_EXPECT_NULL(test, rpdev->dev.driver);
	KUNIT_EXPECT_NULL(test, dev_get_drvdata(&rpdev->dev));
	KUNIT_EXPECT_EQ(test, fk->nnodes, 0);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
}

/*
 * With iommu.passthrough=1 the CB platform devices probed, their DMA
 * untranslated: the CB context devices accept the identity domain, and
 * the channel probes.
 */
static void fastrpc_probe_in_passthrough(struct kunit *test)
{
	u32 smmu = iommu_kunit_phandle(test);
	const struct fastrpc_kunit_cb cbs[] = {
		{ FASTRPC_KUNIT_SID_IDENTITY + 1, smmu, 0 },
	};
	struct fastrpc_channel_ctx *cctx;
	struct iommu_domain *domain;

	iommu_kunit_default_passthrough(test);
	cctx = fastrpc_kunit_probe(test, fastrpc_kunit_channel(test, FASTRPC_KUNIT_SID_IDENTITY,
							       cbs, ARRAY_SIZE(cbs)));
	KUNIT_ASSERT_EQ(test, cctx->cbcount, 1);
	domain = iommu_get_domain_for_dev(&cctx->cbs[0]->dev);
	KUNIT_ASSERT_NOT_NULL(test, domain);
	KUNIT_EXPECT_EQ(test, domain->type, IOMMU_DOMAIN_IDENTITY);
	KUNIT_EXPECT_NOT_NULL(test, cctx->fdevice);
}

/*
 * A CDSP that addresses 34 bits (Kaanapali) gets them for streaming DMA;
 * coherent memory stays below 4 GiB, as the CB platform devices had it.
 */
static void fastrpc_cb_dma_masks(struct kunit *test)
{
	u32 smmu = iommu_kunit_phandle(test);
	const struct fastrpc_kunit_cb cbs[] = {
		{ FASTRPC_KUNIT_SID_MASKS + 1, smmu, 0 },
	};
	struct fastrpc_channel_ctx *cctx;
	struct device *dev;
	dma_addr_t iova;
	void *cpu;

	cctx = fastrpc_kunit_probe(test, fastrpc_kunit_soc_channel(test, FASTRPC_KUNIT_SID_MASKS,
								   "qcom,kaanapali-fastrpc",
								   cbs, ARRAY_SIZE(cbs)));
	KUNIT_ASSERT_EQ(test, cctx->soc_data->dma_addr_bits_cdsp, 34);
	dev = fastrpc_kunit_expect_cb(test, cctx, cbs[0].reg);
	KUNIT_EXPECT_EQ(test, dma_get_mask(dev), DMA_BIT_MASK(34));
	KUNIT_EXPECT_EQ(test, dev->coherent_dma_mask, DMA_BIT_MASK(32));

	/* IOVA allocation is top-down: a 34-bit mask would give IOVA above 4 GiB. */
	cpu = dma_alloc_coherent(dev, SZ_64K, &iova, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, cpu);
	KUNIT_EXPECT_LE(test, iova + SZ_64K, (dma_addr_t)SZ_4G);
	dma_free_coherent(dev, SZ_64K, cpu, iova);
}

/*
 * The channel goes while a file holds a session with buffers mapped
 * through its CB, as when the DSP stops under a running application: the
 * CB device stays on the bus, in its group and domain, for as long as a
 * buffer is mapped through it, even past the file, as an exported buffer
 * (a real dma-buf here) can be. A buffer an interrupted invocation left
 * to the channel stays mapped, as the DSP may still use it, but no longer
 * holds the channel.
 * Each is unmapped through the IOMMU that mapped it, and the last one
 * takes the device away: nothing is left.
 */
static void fastrpc_remove_with_live_mapping(struct kunit *test)
{
	u32 smmu = iommu_kunit_phandle(test);
	const struct fastrpc_kunit_cb cbs[] = {
		{ FASTRPC_KUNIT_SID_LIVE + 1, smmu, 0 },
	};
	dma_addr_t iova, iova_interrupted, iova_late;
	struct fastrpc_buf *buf, *interrupted, *late;
	struct dma_buf *dmabuf;
	void *interrupted_virt, *late_virt;
	struct fastrpc_channel_ctx *cctx;
	struct iommu_domain *domain;
	struct rpmsg_device *rpdev;
	struct fastrpc_user *fl;
	struct file file = {};
	unsigned int before;
	struct device *dev;
	char name[128];

	before = context_bus_kunit_count(NULL);
	cctx = fastrpc_kunit_probe(test, fastrpc_kunit_channel(test, FASTRPC_KUNIT_SID_LIVE,
							       cbs, ARRAY_SIZE(cbs)));
	rpdev = cctx->rpdev;
	dev = fastrpc_kunit_expect_cb(test, cctx, cbs[0].reg);
	strscpy(name, dev_name(dev));
	domain = iommu_get_domain_for_dev(dev);

	/*
	 * A session and three buffers, as open(2), FASTRPC_IOCTL_ALLOC_DMA_BUFF
	 * and FASTRPC_IOCTL_MMAP make them; an interrupted invocation hands the
	 * second to the channel, and one interrupted after remove() the third.
	 */
	file.private_data = &cctx->fdevice->miscdev;
	KUNIT_ASSERT_EQ(test, fastrpc_device_open(NULL, &file), 0);
	fl = file.private_data;
	KUNIT_ASSERT_PTR_EQ(test, fl->sctx->dev, dev);
	KUNIT_ASSERT_EQ(test, fastrpc_buf_alloc(fl, dev, SZ_64K, &buf), 0);
	iova = fastrpc_ipa_to_dma_addr(cctx, buf->dma_addr);
	KUNIT_ASSERT_NE(test, iommu_iova_to_phys(domain, iova), 0);
	/* Exported as FASTRPC_IOCTL_ALLOC_DMA_BUFF does, less the fd. */
	dmabuf = fastrpc_buf_export(buf);
	if (IS_ERR(dmabuf))
		fastrpc_buf_free(buf);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	buf->dmabuf = dmabuf;
	KUNIT_ASSERT_EQ(test, fastrpc_buf_alloc(fl, dev, SZ_64K, &interrupted), 0);
	iova_interrupted = fastrpc_ipa_to_dma_addr(cctx, interrupted->dma_addr);
	interrupted_virt = interrupted->virt;
	list_add_tail(&interrupted->node, &cctx->invoke_interrupted_mmaps);
	KUNIT_ASSERT_EQ(test, fastrpc_buf_alloc(fl, dev, SZ_64K, &late), 0);
	iova_late = fastrpc_ipa_to_dma_addr(cctx, late->dma_addr);
	late_virt = late->virt;
	spin_lock(&fl->lock);
	list_add_tail(&late->node, &fl->mmaps);
	spin_unlock(&fl->lock);

	/* The channel goes: the device stays while buffers are mapped. */
	kunit_release_action(test, fastrpc_kunit_unregister, &rpdev->dev);
	KUNIT_ASSERT_TRUE_MSG(test, context_bus_kunit_has(name), "%s went with the channel", name);
	KUNIT_EXPECT_NULL(test, cctx->rpdev);
	KUNIT_EXPECT_TRUE(test, device_is_registered(dev));
	KUNIT_ASSERT_PTR_EQ(test, iommu_get_domain_for_dev(dev), domain);
	KUNIT_EXPECT_NE(test, iommu_iova_to_phys(domain, iova), 0);
	/*
	 * The DSP may still use the interrupted invocation's buffer: it stays
	 * mapped, never freed by the driver (the test frees it, below).
	 */
	KUNIT_EXPECT_NE(test, iommu_iova_to_phys(domain, iova_interrupted), 0);
	if (iommu_iova_to_phys(domain, iova_interrupted))
		dma_free_coherent(dev, SZ_64K, interrupted_virt, iova_interrupted);

	/*
	 * An invocation interrupted after remove(): its buffer is let go of
	 * at once, as remove() did with the others, not left to a channel
	 * that nobody will remove again.
	 */
	fastrpc_invoke_interrupted(fl);
	KUNIT_EXPECT_NE(test, iommu_iova_to_phys(domain, iova_late), 0);
	if (iommu_iova_to_phys(domain, iova_late))
		dma_free_coherent(dev, SZ_64K, late_virt, iova_late);

	/* The file closes first: the buffer still holds the device. */
	fastrpc_device_release(NULL, &file);
	KUNIT_ASSERT_TRUE_MSG(test, context_bus_kunit_has(name), "%s went with the file", name);
	KUNIT_EXPECT_NE(test, iommu_iova_to_phys(domain, iova), 0);

	/*
	 * The exported buffer goes with its dma-buf's last reference: it is
	 * freed while its device is still in the domain, and the device goes
	 * (with the domain: no IOVA to look at after). A kthread's last
	 * fput() is deferred: flush it.
	 */
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	KUNIT_EXPECT_FALSE_MSG(test, context_bus_kunit_has(name), "%s is left", name);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);
}

/*
 * Real DMA, by QEMU's edu devices, on two CBs with their stream IDs: a
 * buffer the driver allocates for a session on CB A is reached, read and
 * write, by A's stream at the IOVA the DMA API gave (the DSP is handed it
 * with the SID above bit 32, which the SMMU never sees), and not at all by
 * B's stream, whose CB maps nothing there. The buffer is 64 KiB so that the
 * page tried is not the top page of B's IOVA space, which the helper's own
 * transfers through B take (and give back) first.
 *
 * Then the channel, the session and the buffer go, and with the buffer the
 * CBs: A's stream, with no device on it, writes neither to the old IOVA of
 * a page the test mapped through A (reached, then unmapped) nor to its
 * physical address, where a stream left in bypass would.
 */
static void fastrpc_bank_dma_is_isolated(struct kunit *test)
{
	const struct qemu_edu *edu0 = qemu_edu_kunit_get(test, 0);
	const struct qemu_edu *edu1 = qemu_edu_kunit_get(test, 1);
	const struct fastrpc_kunit_cb cbs[] = {
		{ edu0->sid, edu0->iommu, 0, true },
		{ edu1->sid, edu1->iommu, 0, true },
	};
	const struct qemu_edu *edu_a, *edu_b;
	struct fastrpc_channel_ctx *cctx;
	struct device *dev_a, *dev_b;
	struct rpmsg_device *rpdev;
	dma_addr_t iova, old_iova;
	struct fastrpc_buf *buf;
	struct fastrpc_user *fl;
	unsigned int before;
	struct file *file;
	u8 *pattern, *old;
	char name[128];

	pattern = kunit_kmalloc(test, QEMU_EDU_DMA_MAX, GFP_KERNEL);
	old = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pattern);
	KUNIT_ASSERT_NOT_NULL(test, old);
	memset(pattern, 0x3c, QEMU_EDU_DMA_MAX);
	/* Closed by an action: it must outlive this frame. */
	file = kunit_kzalloc(test, sizeof(*file), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, file);

	before = context_bus_kunit_count(NULL);
	cctx = fastrpc_kunit_probe(test, fastrpc_kunit_channel(test, FASTRPC_KUNIT_TAG_DMA,
							       cbs, ARRAY_SIZE(cbs)));
	rpdev = cctx->rpdev;

	/* A session, as open(2) makes it: its CB is A, whichever it is. */
	file->private_data = &cctx->fdevice->miscdev;
	KUNIT_ASSERT_EQ(test, fastrpc_device_open(NULL, file), 0);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, fastrpc_kunit_release, file));
	fl = file->private_data;
	edu_a = fl->sctx->sid == edu0->sid ? edu0 : edu1;
	edu_b = edu_a == edu0 ? edu1 : edu0;
	dev_a = fastrpc_kunit_expect_cb(test, cctx, edu_a->sid);
	dev_b = fastrpc_kunit_expect_cb(test, cctx, edu_b->sid);
	KUNIT_ASSERT_PTR_EQ(test, fl->sctx->dev, dev_a);
	strscpy(name, dev_name(dev_a));

	/* A buffer as FASTRPC_IOCTL_ALLOC_DMA_BUFF makes it. */
	KUNIT_ASSERT_EQ(test, fastrpc_buf_alloc(fl, dev_a, SZ_64K, &buf), 0);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, fastrpc_kunit_buf_free, buf));
	iova = fastrpc_ipa_to_dma_addr(cctx, buf->dma_addr);
	KUNIT_EXPECT_EQ(test, buf->dma_addr, iova + fastrpc_sid_offset(cctx, fl->sctx));

	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu_a, dev_a, iova, buf->virt,
							       QEMU_EDU_DMA_MAX),
				    true, true, "the session's buffer by its CB's stream");
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu_b, dev_b, iova, buf->virt,
							       QEMU_EDU_DMA_MAX),
				    false, false, "the session's buffer by the other CB's stream");

	/*
	 * A page of the test's, mapped through A and unmapped before A goes;
	 * the edu keeps the pattern, so a write that lands from here on shows.
	 * The channel goes first, as in fastrpc_remove_with_live_mapping(),
	 * so that the close sends nothing through the CB.
	 */
	old_iova = dma_map_single(dev_a, old, PAGE_SIZE, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_FALSE(test, dma_mapping_error(dev_a, old_iova));
	QEMU_EDU_KUNIT_EXPECT_REACH(test, qemu_edu_kunit_reach(test, edu_a, dev_a, old_iova, old,
							       QEMU_EDU_DMA_MAX),
				    true, true, "a page mapped through the CB");
	dma_unmap_single(dev_a, old_iova, PAGE_SIZE, DMA_BIDIRECTIONAL);
	qemu_edu_kunit_load(test, edu_a, dev_a, pattern, QEMU_EDU_DMA_MAX);
	kunit_release_action(test, fastrpc_kunit_unregister, &rpdev->dev);
	kunit_release_action(test, fastrpc_kunit_release, file);
	kunit_release_action(test, fastrpc_kunit_buf_free, buf);
	KUNIT_ASSERT_FALSE_MSG(test, context_bus_kunit_has(name), "%s is left", name);
	KUNIT_EXPECT_EQ(test, context_bus_kunit_count(NULL), before);

	memset(old, 0x5a, QEMU_EDU_DMA_MAX);
	qemu_edu_kunit_dma(test, edu_a, old_iova, QEMU_EDU_DMA_MAX, true);
	qemu_edu_kunit_dma(test, edu_a, virt_to_phys(old), QEMU_EDU_DMA_MAX, true);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(old, 0x5a, QEMU_EDU_DMA_MAX),
			      "a write of stream %#x landed after its CB went", edu_a->sid);
}

/*
 * Fail the n-th allocation of the probe, for n = 1, 2, ... until a probe
 * meets no fault: a failed probe leaves no context device and no device
 * node, and the next probe succeeds. Needs failslab and fail_page_alloc
 * with ignore-gfp-wait cleared in debugfs.
 */
static void fastrpc_probe_fault_injection(struct kunit *test)
{
	u32 smmu = iommu_kunit_phandle(test);
	const struct fastrpc_kunit_cb cbs[] = {
		{ FASTRPC_KUNIT_SID_FAULTS + 1, smmu, 0 },
		{ FASTRPC_KUNIT_SID_FAULTS + 2, smmu, 2 },
	};
	unsigned int n, refused = 0, absorbed = 0;
	struct rpmsg_device *rpdev;
	struct device *dev;
	bool fired = false;
	int attached;

	if (!IS_ENABLED(CONFIG_FAULT_INJECTION))
		kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
	rpdev = fastrpc_kunit_register(test, fastrpc_kunit_channel(test, FASTRPC_KUNIT_SID_FAULTS,
								   cbs, ARRAY_SIZE(cbs)));
	dev = &rpdev->dev;
	KUNIT_ASSERT_NOT_NULL(test, dev->driver);

	for (n = 1; n < 100000; n++) {
		device_release_driver(dev);
		KUNIT_ASSERT_EQ(test, context_bus_kunit_count(dev), 0);
		/* A failed probe is an error of device_attach() or no driver. */
		kunit_expect_stack_dump(test, CONTEXT_BUS_KUNIT_FAULT_WARNS) {
			context_bus_kunit_fault_arm(n);
			attached = device_attach(dev);
			fired = context_bus_kunit_fault_fired();
		}
		/* device_attach() returns 1 exactly when it bound the driver. */
		KUNIT_EXPECT_EQ_MSG(test, attached == 1, !!dev->driver, "fault %u", n);
		if (dev->driver) {
			KUNIT_EXPECT_EQ_MSG(test, context_bus_kunit_count(dev), 2, "fault %u", n);
			KUNIT_EXPECT_NOT_NULL(test, dev_get_drvdata(dev));
		} else {
			KUNIT_EXPECT_EQ_MSG(test, context_bus_kunit_count(dev), 0, "fault %u", n);
			KUNIT_EXPECT_NULL(test, dev_get_drvdata(dev));
		}
		if (!fired) {
			KUNIT_EXPECT_NOT_NULL(test, dev->driver);
			break;
		}
		if (dev->driver)
			absorbed++;
		else
			refused++;
		if (test->status == KUNIT_FAILURE)
			break;
	}
	kunit_info(test, "%u fault points: %u refused, %u absorbed\n", n - 1, refused, absorbed);
	if (n == 1 && !fired)
		kunit_skip(test, CONTEXT_BUS_KUNIT_NO_FAULT);
}

static int fastrpc_kunit_init(struct kunit *test)
{
	struct fastrpc_kunit *fk;

	fk = kunit_kzalloc(test, sizeof(*fk), GFP_KERNEL);
	if (!fk)
		return -ENOMEM;
	test->priv = fk;
	kunit_activate_static_stub(test, fastrpc_misc_register, fastrpc_kunit_misc_register);
	return 0;
}

static struct kunit_case fastrpc_test_cases[] = {
	KUNIT_CASE(fastrpc_probe_creates_cbs_before_nodes),
	KUNIT_CASE(fastrpc_probe_fails_without_iommu),
	KUNIT_CASE(fastrpc_probe_in_passthrough),
	KUNIT_CASE(fastrpc_cb_dma_masks),
	KUNIT_CASE(fastrpc_remove_with_live_mapping),
	KUNIT_CASE(fastrpc_bank_dma_is_isolated),
	KUNIT_CASE(fastrpc_probe_fault_injection),
	{}
};

static struct kunit_suite fastrpc_test_suite = {
	.name = "fastrpc",
	.init = fastrpc_kunit_init,
	.test_cases = fastrpc_test_cases,
};

kunit_test_suite(fastrpc_test_suite);
