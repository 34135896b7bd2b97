package io.krill.shim;

import io.krill.daemon.DaemonConfigFile;
import io.krill.daemon.LogFormat;
import io.krill.daemon.MemoryBudgetSetting;
import io.krill.daemon.ModuleCacheSetting;
import io.krill.daemon.Sizes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;

/**
 * The daemon's settings: flags from the launcher (Go style: {@code -name value}), then environment
 * variables that containerd passes through to its shims, then the node's settings file ({@link
 * DaemonConfigFile}), then defaults. {@code -foreground} marks a daemon started by an operator or
 * service manager ({@code krill daemon}) rather than spawned by the launcher. {@code -isolated
 * <sandbox id>} marks the daemon of one pod (the {@code krill-isolated} runtime), which leaves with
 * the pod's last task.
 */
record DaemonOptions(
    Path socket,
    String namespace,
    String address,
    Path ttrpcAddress,
    Path runDir,
    boolean debug,
    Duration idleTimeout,
    Optional<Path> cacheDir,
    long defaultMemoryLimit,
    MemoryBudgetSetting memoryBudget,
    Level logLevel,
    long logMaxBytes,
    boolean foreground,
    Optional<String> isolatedPod,
    String engine,
    ModuleCacheSetting moduleCache) {
  static final long DEFAULT_LOG_MAX_BYTES = 10L << 20;

  /** {@code memory_budget = auto} for a pod's daemon: no budget of krill's own. */
  static final MemoryBudgetSetting POD_BUDGET =
      new MemoryBudgetSetting(
          Long.MAX_VALUE,
          "none: the kernel enforces the pod's memory limit on the daemon and guests");

  static DaemonOptions parse(String[] args, Map<String, String> env) {
    return parse(args, env, DaemonConfigFile.load(env));
  }

  static DaemonOptions parse(String[] args, Map<String, String> env, DaemonConfigFile file) {
    String socket = null;
    String namespace = "default";
    String address = "";
    String ttrpc = null;
    String runDir = null;
    boolean debug = false;
    boolean foreground = false;
    String idleFlag = null;
    String pod = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i].replaceFirst("^--?", "");
      String value = i + 1 < args.length ? args[i + 1] : null;
      if (value == null && !a.equals("debug") && !a.equals("foreground")) {
        throw new IllegalArgumentException("option " + args[i] + " needs a value");
      }
      switch (a) {
        case "debug" -> debug = true;
        case "foreground" -> foreground = true;
        case "idle-timeout" -> {
          idleFlag = value;
          i++;
        }
        case "socket" -> {
          socket = value;
          i++;
        }
        case "namespace" -> {
          namespace = value;
          i++;
        }
        case "address" -> {
          address = value;
          i++;
        }
        case "ttrpc-address" -> {
          ttrpc = value;
          i++;
        }
        case "run-dir" -> {
          runDir = value;
          i++;
        }
        case "isolated" -> {
          pod = value;
          i++;
        }
        case "publish-binary", "id", "bundle" -> i++;
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (socket == null) {
      throw new IllegalArgumentException("-socket is required");
    }
    if (ttrpc == null || ttrpc.isEmpty()) {
      ttrpc = env.getOrDefault("TTRPC_ADDRESS", address.isEmpty() ? "" : address + ".ttrpc");
    }
    ttrpc = ttrpc.replaceFirst("^unix://", "");
    // 0 means never: a daemon a service manager keeps warm must not leave on its own.
    Duration idle =
        Duration.ofMillis(
            (long)
                (Double.parseDouble(
                        idleFlag != null ? idleFlag : file.get("idle_timeout", env, "30"))
                    * 1000));
    if (idle.isNegative()) {
      throw new IllegalArgumentException("idle_timeout must not be negative");
    }
    String cache = file.get("cache_dir", env, "/var/lib/krill/cache");
    long memory =
        size(
            "default_memory_limit",
            file.get("default_memory_limit", env, MemoryBudgetSetting.DEFAULT_MEMORY_LIMIT));
    String budgetValue = file.get(MemoryBudgetSetting.KEY, env, MemoryBudgetSetting.AUTO);
    // A pod's daemon lives in the pod's cgroup, whose limit the kernel enforces on the JVM and the
    // guests together; krill's own admission would only have to guess the JVM's share of it.
    MemoryBudgetSetting budget =
        pod != null && budgetValue.strip().equalsIgnoreCase(MemoryBudgetSetting.AUTO)
            ? POD_BUDGET
            : MemoryBudgetSetting.resolve(budgetValue);
    Level level = debug ? Level.FINE : LogFormat.level(file.get("log_level", env, "info"));
    long logMax =
        size(
            "log_max_bytes", file.get("log_max_bytes", env, String.valueOf(DEFAULT_LOG_MAX_BYTES)));
    return new DaemonOptions(
        Path.of(socket),
        namespace,
        address,
        ttrpc.isEmpty() ? null : Path.of(ttrpc),
        runDir == null ? null : Path.of(runDir),
        debug || level.intValue() <= Level.FINE.intValue(),
        idle,
        cache.isEmpty() ? Optional.empty() : Optional.of(Path.of(cache)),
        memory,
        budget,
        level,
        logMax,
        foreground,
        pod == null || pod.isEmpty() ? Optional.empty() : Optional.of(pod),
        file.engine(env),
        ModuleCacheSetting.resolve(file, env));
  }

  /** What this daemon serves, for its log: a namespace, or one pod of it. */
  String serves() {
    return isolatedPod
        .map(p -> "pod " + p + " (namespace " + namespace + ")")
        .orElse("namespace " + namespace);
  }

  /** Whether the daemon ever leaves on its own after its last task. */
  boolean idleExits() {
    return !idleTimeout.isZero();
  }

  private static long size(String key, String value) {
    try {
      return Sizes.parse(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ": " + e.getMessage());
    }
  }
}
