package io.krill.engine;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Everything an engine needs to run one WASI command: the module bytes (already checked and
 * memory-capped), the exported function to call, argv, environment ({@code KEY=VALUE}), the host
 * directories and files the guest sees ({@link Preopen}), stdio paths (null = none) and the
 * linear-memory limit the module was capped to (0 = none).
 */
public record GuestSpec(
    String containerId,
    String modulePath,
    byte[] module,
    String entry,
    List<String> args,
    List<String> env,
    List<Preopen> preopens,
    Path stdin,
    Path stdout,
    Path stderr,
    long memoryLimitBytes) {

  public GuestSpec(
      String containerId,
      String modulePath,
      byte[] module,
      String entry,
      List<String> args,
      List<String> env,
      List<Preopen> preopens,
      Path stdin,
      Path stdout,
      Path stderr) {
    this(containerId, modulePath, module, entry, args, env, preopens, stdin, stdout, stderr, 0);
  }

  public GuestSpec {
    Objects.requireNonNull(containerId);
    Objects.requireNonNull(module);
    Objects.requireNonNull(entry);
    args = List.copyOf(args);
    env = List.copyOf(env);
    preopens = List.copyOf(preopens);
  }
}
