package io.krill.engine;

import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Everything an engine needs to run one WASI command: the module bytes (already checked and
 * memory-capped), the exported function to call, argv, environment ({@code KEY=VALUE}), the host
 * directories and files the guest sees ({@link Preopen}), stdio paths (null = none), the
 * linear-memory limit the module was capped to (0 = none) and the listening TCP sockets the guest
 * gets as preopened descriptors 3, 4, ... before its directories (the guest closes them when it
 * ends; whoever made them closes them too, in case it never starts).
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
    long memoryLimitBytes,
    List<ServerSocketChannel> listeners) {

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
      Path stderr,
      long memoryLimitBytes) {
    this(
        containerId,
        modulePath,
        module,
        entry,
        args,
        env,
        preopens,
        stdin,
        stdout,
        stderr,
        memoryLimitBytes,
        List.of());
  }

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

  /**
   * This spec without its module bytes: what a guest keeps once its module is compiled, so that a
   * daemon running many replicas of a large module does not hold a copy of its bytes per replica.
   */
  public GuestSpec withoutModule() {
    if (module.length == 0) {
      return this;
    }
    return new GuestSpec(
        containerId,
        modulePath,
        NO_MODULE,
        entry,
        args,
        env,
        preopens,
        stdin,
        stdout,
        stderr,
        memoryLimitBytes,
        listeners);
  }

  private static final byte[] NO_MODULE = new byte[0];

  public GuestSpec {
    Objects.requireNonNull(containerId);
    Objects.requireNonNull(module);
    Objects.requireNonNull(entry);
    args = List.copyOf(args);
    env = List.copyOf(env);
    preopens = List.copyOf(preopens);
    listeners = List.copyOf(listeners);
  }

  /** The same guest with these listening sockets. */
  public GuestSpec withListeners(List<ServerSocketChannel> l) {
    return new GuestSpec(
        containerId,
        modulePath,
        module,
        entry,
        args,
        env,
        preopens,
        stdin,
        stdout,
        stderr,
        memoryLimitBytes,
        l);
  }
}
