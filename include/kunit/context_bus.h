/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for KUnit tests of the context device bus and its users: what is
 * on the bus, to check that a test leaves it as it found it.
 */
#ifndef _KUNIT_CONTEXT_BUS_H
#define _KUNIT_CONTEXT_BUS_H

#include <linux/compiler.h>
#include <linux/context_bus.h>
#include <linux/device.h>
#include <linux/sched.h>

struct context_bus_kunit_count {
	const struct device *parent;
	unsigned int n;
};

static inline int context_bus_kunit_count_one(struct device *dev, void *data)
{
	struct context_bus_kunit_count *count = data;

	if (!count->parent || dev->parent == count->parent)
		count->n++;
	return 0;
}

/**
 * context_bus_kunit_count() - count the context devices
 * @parent: count only the context devices of @parent; NULL for all
 *
 * Return: the number of context devices on the bus.
 */
static inline unsigned int context_bus_kunit_count(const struct device *parent)
{
	struct context_bus_kunit_count count = { .parent = parent };

	bus_for_each_dev(&context_device_bus_type, NULL, &count,
			 context_bus_kunit_count_one);
	return count.n;
}

/**
 * context_bus_kunit_has() - tell whether a context device of a name exists
 * @name: device name
 *
 * Return: true if a context device named @name is on the bus.
 */
static inline bool context_bus_kunit_has(const char *name)
{
	struct device *dev;

	dev = bus_find_device_by_name(&context_device_bus_type, NULL, name);
	put_device(dev);
	return dev;
}

/* Why a fault-injection sweep in which no fault fired is skipped */
#define CONTEXT_BUS_KUNIT_NO_FAULT \
	"no fault point fired: needs failslab and fail_page_alloc with ignore-gfp-wait off in debugfs"

/*
 * Why a call with an injected fault may dump the stack: when an allocation
 * fails in the first attach of a group's default domain, arm-smmu-v3 fails
 * the attach, which the IOMMU core WARNs about ("Drivers are not allowed
 * to fail the first domain attach"), and the SMMU driver WARNs again as it
 * unwinds; the device is then left out of the IOMMU, which the bus refuses.
 */
#define CONTEXT_BUS_KUNIT_FAULT_WARNS \
	"an injected fault may make arm-smmu-v3 fail a first domain attach, which warns"

/**
 * context_bus_kunit_fault_arm() - fail the n-th fault point of what follows
 * @n: the fault point to fail, counted from 1, in the current task; 0 for
 *	none
 *
 * Fault points are the allocations failslab and fail_page_alloc may fail:
 * where they ignore sleeping allocations (their default), none is counted.
 * Without CONFIG_FAULT_INJECTION nothing is failed.
 */
static inline void context_bus_kunit_fault_arm(unsigned int n)
{
#ifdef CONFIG_FAULT_INJECTION
	WRITE_ONCE(current->fail_nth, n);
#endif
}

/**
 * context_bus_kunit_fault_fired() - disarm, and tell whether the fault fired
 *
 * Return: true if the fault point context_bus_kunit_fault_arm() named was
 * reached and failed since.
 */
static inline bool context_bus_kunit_fault_fired(void)
{
#ifdef CONFIG_FAULT_INJECTION
	bool fired = !READ_ONCE(current->fail_nth);

	WRITE_ONCE(current->fail_nth, 0);
	return fired;
#else
	return false;
#endif
}

#endif /* _KUNIT_CONTEXT_BUS_H */
