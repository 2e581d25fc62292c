/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declare a stack dump that a test provokes on purpose.
 *
 * The test harness of the context device bus fails a run on any kernel
 * stack dump ("Call trace:"), WARNING or BUG in the log, except for stack
 * dumps and WARNINGs between these two lines, which this header prints:
 *
 *   context-bus-kunit: expect stack dump: <test>: <reason>
 *   context-bus-kunit: end of expected stack dump
 *
 * (anywhere in a line of the log: a pr_fmt() prefix does no harm).
 *
 * A "BUG:" (KASAN, sleeping in atomic context, ...) or an Oops is never
 * excused.  A WARN() that a test expects in its own task is better silenced
 * altogether with kunit_warning_suppress() of <kunit/test.h>; this is for
 * the other dumps: dump_stack(), a WARN() in a work item or another task.
 * Rust tests print the same two lines with pr_info!().
 */
#ifndef _KUNIT_EXPECT_STACK_DUMP_H
#define _KUNIT_EXPECT_STACK_DUMP_H

#include <kunit/test.h>
#include <linux/printk.h>

#define KUNIT_EXPECT_STACK_DUMP_BEGIN	"context-bus-kunit: expect stack dump: "
#define KUNIT_EXPECT_STACK_DUMP_END	"context-bus-kunit: end of expected stack dump"

static inline struct kunit *kunit_expect_stack_dump_begin(struct kunit *test,
							  const char *reason)
{
	pr_info(KUNIT_EXPECT_STACK_DUMP_BEGIN "%s: %s\n", test->name, reason);
	return test;
}

static inline void kunit_expect_stack_dump_end(void)
{
	pr_info(KUNIT_EXPECT_STACK_DUMP_END "\n");
}

static inline void __kunit_expect_stack_dump_cleanup(struct kunit **test)
{
	if (*test)
		kunit_expect_stack_dump_end();
}

/**
 * kunit_expect_stack_dump() - run a block that dumps the stack on purpose
 * @test: the test
 * @reason: why the block dumps the stack, for the log
 *
 * Brackets the block with the two lines the harness looks for::
 *
 *	kunit_expect_stack_dump(test, "the WARN_ON() of a second release") {
 *		release_twice(obj);
 *	}
 *
 * The end line is printed however the block is left (break, return), but
 * a failed KUNIT_ASSERT_*() ends the test's thread without it: then the
 * harness fails the run, which fails for the assertion anyway.
 */
#define kunit_expect_stack_dump(test, reason)					\
	for (struct kunit *__kunit_esd						\
	     __cleanup(__kunit_expect_stack_dump_cleanup) =			\
	     kunit_expect_stack_dump_begin(test, reason);			\
	     __kunit_esd;							\
	     kunit_expect_stack_dump_end(), __kunit_esd = NULL)

#endif /* _KUNIT_EXPECT_STACK_DUMP_H */
