package io.krill.runtime;

/**
 * CPU time of the guest threads and resident bytes of their linear memory; limit 0 = none; {@code
 * processes}: how many of the task's processes (its own and its execs) are running.
 */
public record TaskStats(long cpuNanos, long memoryBytes, long memoryLimitBytes, int processes) {}
