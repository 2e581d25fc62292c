/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for KUnit tests of the context device bus and its users: what is
 * on the bus, to check that a test leaves it as it found it.
 */
#ifndef _KUNIT_CONTEXT_BUS_H
#define _KUNIT_CONTEXT_BUS_H

#include <linux/context_bus.h>
#include <linux/device.h>

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

#endif /* _KUNIT_CONTEXT_BUS_H */
