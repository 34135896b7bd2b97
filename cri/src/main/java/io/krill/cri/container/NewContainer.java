package io.krill.cri.container;

import io.krill.oci.RuntimeSpec;
import java.util.List;
import java.util.Map;

/**
 * What CreateContainer asks for, protobuf-free and as kubelet sends it: {@code logDirectory} is the
 * sandbox config's (empty: the pod's), {@code logPath} relative to it (empty: no log). What the pod
 * adds and which requests are refused is decided by {@code CriRuntime}, which turns this into a
 * {@link ContainerRequest}. {@code security} is checked, not applied: a wasm guest has no user and
 * no system calls of its own. {@code resources} are echoed in the container's status; of them the
 * memory limit and the CPU fields ({@link #cpu()}, the spec's {@code linux.resources.cpu}) are
 * enforced. {@code configJson} is the CreateContainer config as containerd shows it in verbose
 * status.
 */
public record NewContainer(
    String podId,
    String name,
    int attempt,
    String image,
    List<String> command,
    List<String> args,
    String workingDir,
    List<String> env,
    List<CriContainer.MountSpec> mounts,
    Map<String, String> labels,
    Map<String, String> annotations,
    String logDirectory,
    String logPath,
    long memoryLimitBytes,
    boolean stdin,
    boolean stdinOnce,
    boolean tty,
    ContainerSecurity security,
    ContainerResources resources,
    String configJson) {
  public NewContainer {
    resources =
        resources != null
            ? resources
            : ContainerResources.NONE.updatedWith(
                new ContainerResources(0, 0, 0, memoryLimitBytes, 0, "", "", null, null, 0));
    configJson = configJson == null ? "" : configJson;
    command = List.copyOf(command);
    args = List.copyOf(args);
    env = List.copyOf(env);
    mounts = List.copyOf(mounts);
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    logDirectory = logDirectory == null ? "" : logDirectory;
    logPath = logPath == null ? "" : logPath;
    security = security == null ? ContainerSecurity.NONE : security;
  }

  /** Without resources. */
  public NewContainer(
      String podId,
      String name,
      int attempt,
      String image,
      List<String> command,
      List<String> args,
      String workingDir,
      List<String> env,
      List<CriContainer.MountSpec> mounts,
      Map<String, String> labels,
      Map<String, String> annotations,
      String logDirectory,
      String logPath,
      long memoryLimitBytes,
      boolean stdin,
      boolean stdinOnce,
      boolean tty,
      ContainerSecurity security) {
    this(
        podId,
        name,
        attempt,
        image,
        command,
        args,
        workingDir,
        env,
        mounts,
        labels,
        annotations,
        logDirectory,
        logPath,
        memoryLimitBytes,
        stdin,
        stdinOnce,
        tty,
        security,
        null,
        null);
  }

  /** The CPU limits among the resources; null when none is set. */
  public RuntimeSpec.Cpu cpu() {
    return cpu(resources.cpuPeriod(), resources.cpuQuota(), resources.cpuShares());
  }

  /**
   * CRI's {@code LinuxContainerResources} CPU fields as the spec's: 0 means unset, as containerd
   * reads them; null when none is set.
   */
  public static RuntimeSpec.Cpu cpu(long period, long quota, long shares) {
    RuntimeSpec.Cpu cpu =
        new RuntimeSpec.Cpu(
            shares != 0 ? shares : null, quota != 0 ? quota : null, period != 0 ? period : null);
    return cpu.isEmpty() ? null : cpu;
  }
}
