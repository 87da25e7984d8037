#include "cpuset.h"
#include "tap.h"

int main(void)
{
	is_int(gt_cpuset_count("0-3,8,10-11"), 7, "ranges and singles");
	is_int(gt_cpuset_count("0"), 1, "one CPU");
	is_int(gt_cpuset_count(""), 0, "empty list means unset");
	is_int(gt_cpuset_count("  "), 0, "blank list means unset");
	is_int(gt_cpuset_count("0-1\n"), 2, "trailing newline as in sysfs");
	is_int(gt_cpuset_count("0-3,2,3"), 4, "overlap counted once");
	is_int(gt_cpuset_count("0-3, 5"), 5, "space after comma");
	is_int(gt_cpuset_count("8191"), 1, "largest CPU id");
	is_int(gt_cpuset_count("0-8191"), 8192, "every CPU");
	is_int(gt_cpuset_count("8192"), -1, "CPU id out of range");
	is_int(gt_cpuset_count("3-1"), -1, "reversed range");
	is_int(gt_cpuset_count("1,"), -1, "trailing comma");
	is_int(gt_cpuset_count(",1"), -1, "leading comma");
	is_int(gt_cpuset_count("1--3"), -1, "double dash");
	is_int(gt_cpuset_count("a"), -1, "letters");
	is_int(gt_cpuset_count("-1"), -1, "negative");
	is_int(gt_cpuset_count("1-"), -1, "open range");
	is_int(gt_cpuset_count("99999999999999999999"), -1, "overflowing id");
	return tap_done();
}
