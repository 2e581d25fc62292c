// SPDX-License-Identifier: GPL-2.0
/*
 * A context device bus client, written as a downstream driver would write
 * one: a platform driver, built as a module, that gives its device one
 * IOMMU context with an IOVA window through the exported C API, maps a
 * buffer through it and checks that the IOVA lies in the window.
 *
 * The context device lives as long as the driver is bound: remove()
 * destroys it, and unloading the module unbinds the driver first, so the
 * module cannot go while the device it made is still there.
 *
 * The device-tree node it binds to (harness/run/context-bus-client.dtsi in
 * the project that carries this sample):
 *
 *	context-bus-client {
 *		compatible = "test,context-bus-client";
 *		iommu-map = <0 &smmu 0x530 1>;
 *	};
 */

#include <linux/context_bus.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/mod_devicetable.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/sizes.h>

/*
 * A "test," compatible, as the kernel's Rust driver samples use: the node
 * stands for hardware that has no binding of its own.
 */
#define CLIENT_COMPATIBLE	"test,context-bus-client"

/* The IOVA window of the context: 16 MiB at 256 MiB. */
#define CLIENT_IOVA_START	SZ_256M
#define CLIENT_IOVA_SIZE	SZ_16M

/* Maps a page through @cdev and checks that its IOVA lies in the window. */
static int context_bus_client_check(struct device *dev, struct context_device *cdev)
{
	struct device *dma_dev = &cdev->dev;
	dma_addr_t iova;
	void *buf;
	int ret = 0;

	buf = kzalloc(SZ_4K, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;

	iova = dma_map_single(dma_dev, buf, SZ_4K, DMA_TO_DEVICE);
	if (dma_mapping_error(dma_dev, iova)) {
		dev_err(dev, "%s: cannot map a buffer\n", dev_name(dma_dev));
		ret = -ENOMEM;
		goto free;
	}

	if (iova < CLIENT_IOVA_START ||
	    iova + SZ_4K > CLIENT_IOVA_START + CLIENT_IOVA_SIZE) {
		dev_err(dev, "%s: IOVA %pad is outside the window\n",
			dev_name(dma_dev), &iova);
		ret = -ERANGE;
	} else {
		dev_info(dev, "%s: IOVA %pad in window %#x-%#x\n",
			 dev_name(dma_dev), &iova, CLIENT_IOVA_START,
			 CLIENT_IOVA_START + CLIENT_IOVA_SIZE);
	}

	dma_unmap_single(dma_dev, iova, SZ_4K, DMA_TO_DEVICE);
free:
	kfree(buf);
	return ret;
}

static int context_bus_client_probe(struct platform_device *pdev)
{
	const struct context_device_info info = {
		.np = pdev->dev.of_node,
		.fn_id = 0,
		.dma_mask = DMA_BIT_MASK(32),
		.iova_start = CLIENT_IOVA_START,
		.iova_size = CLIENT_IOVA_SIZE,
	};
	struct context_device *cdev;
	int ret;

	cdev = context_device_create(&pdev->dev, &info);
	if (IS_ERR(cdev))
		return dev_err_probe(&pdev->dev, PTR_ERR(cdev),
				     "cannot create the context device\n");

	ret = context_bus_client_check(&pdev->dev, cdev);
	if (ret) {
		context_device_destroy(cdev);
		return ret;
	}

	platform_set_drvdata(pdev, cdev);
	return 0;
}

static void context_bus_client_remove(struct platform_device *pdev)
{
	/* Nothing is mapped through it any more: the check unmapped. */
	context_device_destroy(platform_get_drvdata(pdev));
}

static const struct of_device_id context_bus_client_of_match[] = {
	{ .compatible = CLIENT_COMPATIBLE },
	{ }
};
MODULE_DEVICE_TABLE(of, context_bus_client_of_match);

static struct platform_driver context_bus_client_driver = {
	.probe = context_bus_client_probe,
	.remove = context_bus_client_remove,
	.driver = {
		.name = "context-bus-client",
		.of_match_table = context_bus_client_of_match,
	},
};
module_platform_driver(context_bus_client_driver);

MODULE_DESCRIPTION("Sample client of the context device bus");
MODULE_LICENSE("GPL");
