package io.krill.os;

/**
 * CFS bandwidth and weight of a CPU cgroup (v1 file values); a null field is left as it is. A quota
 * of -1 means unlimited.
 */
public record CpuLimits(Long quotaMicros, Long periodMicros, Long shares) {
  public static final CpuLimits NONE = new CpuLimits(null, null, null);

  public boolean isEmpty() {
    return quotaMicros == null && periodMicros == null && shares == null;
  }
}
