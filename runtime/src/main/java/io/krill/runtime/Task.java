package io.krill.runtime;

import io.krill.oci.RuntimeSpec;
import io.krill.os.CpuCgroup;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** One container: its bundle, root filesystem, own process and execs. */
final class Task {
  final TaskSpec spec;
  final RuntimeSpec runtimeSpec;
  final Path rootfs;
  final boolean mountedRootfs;
  final Path privateMounts;
  final long memoryLimit;
  final GuestProcess init;

  /**
   * The container's cgroup, which its guests' threads join (a pod sandbox's: which its process
   * joins); null: none.
   */
  final CpuCgroup cpu;

  final Map<String, GuestProcess> execs = new ConcurrentHashMap<>();

  Task(
      TaskSpec spec,
      RuntimeSpec runtimeSpec,
      Path rootfs,
      boolean mountedRootfs,
      Path privateMounts,
      long memoryLimit,
      GuestProcess init,
      CpuCgroup cpu) {
    this.spec = spec;
    this.runtimeSpec = runtimeSpec;
    this.rootfs = rootfs;
    this.mountedRootfs = mountedRootfs;
    this.privateMounts = privateMounts;
    this.memoryLimit = memoryLimit;
    this.init = init;
    this.cpu = cpu;
  }

  String id() {
    return spec.id();
  }

  GuestProcess process(String execId) {
    if (execId == null || execId.isEmpty()) {
      return init;
    }
    GuestProcess p = execs.get(execId);
    if (p == null) {
      throw new KrillException(
          ErrorCode.NOT_FOUND, "container " + id() + ": exec " + execId + " not found");
    }
    return p;
  }
}
