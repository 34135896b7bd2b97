package io.krill.cri.container;

import java.util.List;
import java.util.Map;

/**
 * A container's Linux resources as CRI gave them at create and update, echoed in its status as
 * containerd does. Only {@code memoryLimitInBytes} is enforced (the cap of the guest's linear
 * memory); the rest is recorded, as a wasm guest has no cgroup of its own.
 */
public record ContainerResources(
    long cpuPeriod,
    long cpuQuota,
    long cpuShares,
    long memoryLimitInBytes,
    long oomScoreAdj,
    String cpusetCpus,
    String cpusetMems,
    List<Hugepage> hugepageLimits,
    Map<String, String> unified,
    long memorySwapLimitInBytes) {
  public static final ContainerResources NONE =
      new ContainerResources(0, 0, 0, 0, 0, "", "", List.of(), Map.of(), 0);

  public ContainerResources {
    cpusetCpus = cpusetCpus == null ? "" : cpusetCpus;
    cpusetMems = cpusetMems == null ? "" : cpusetMems;
    hugepageLimits = hugepageLimits == null ? List.of() : List.copyOf(hugepageLimits);
    unified = unified == null ? Map.of() : Map.copyOf(unified);
  }

  /** One hugepage size's limit. */
  public record Hugepage(String pageSize, long limit) {}

  /**
   * As containerd applies a request: a memory limit without a swap limit gets a swap limit equal to
   * it (no swap), which the status then echoes.
   */
  public ContainerResources withSwapDefault() {
    if (memoryLimitInBytes == 0 || memorySwapLimitInBytes != 0) {
      return this;
    }
    return new ContainerResources(
        cpuPeriod,
        cpuQuota,
        cpuShares,
        memoryLimitInBytes,
        oomScoreAdj,
        cpusetCpus,
        cpusetMems,
        hugepageLimits,
        unified,
        memoryLimitInBytes);
  }

  /**
   * These resources with {@code update}'s non-zero (non-empty) fields on top, as containerd merges
   * an UpdateContainerResources into the container's spec.
   */
  public ContainerResources updatedWith(ContainerResources u) {
    return new ContainerResources(
        u.cpuPeriod != 0 ? u.cpuPeriod : cpuPeriod,
        u.cpuQuota != 0 ? u.cpuQuota : cpuQuota,
        u.cpuShares != 0 ? u.cpuShares : cpuShares,
        u.memoryLimitInBytes != 0 ? u.memoryLimitInBytes : memoryLimitInBytes,
        u.oomScoreAdj != 0 ? u.oomScoreAdj : oomScoreAdj,
        !u.cpusetCpus.isEmpty() ? u.cpusetCpus : cpusetCpus,
        !u.cpusetMems.isEmpty() ? u.cpusetMems : cpusetMems,
        !u.hugepageLimits.isEmpty() ? u.hugepageLimits : hugepageLimits,
        !u.unified.isEmpty() ? u.unified : unified,
        u.memorySwapLimitInBytes != 0 ? u.memorySwapLimitInBytes : memorySwapLimitInBytes);
  }
}
