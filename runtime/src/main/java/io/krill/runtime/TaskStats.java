package io.krill.runtime;

/** CPU time of the guest thread and resident bytes of its linear memory; limit 0 = none. */
public record TaskStats(long cpuNanos, long memoryBytes, long memoryLimitBytes) {}
