package io.krill.shim;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The daemon's settings: flags from the launcher (Go style: {@code -name value}) and environment
 * variables that containerd passes through to its shims.
 */
record DaemonOptions(Path socket, String namespace, String address, Path ttrpcAddress, Path runDir,
    boolean debug, Duration idleTimeout, Optional<Path> cacheDir, long defaultMemoryLimit) {

  static DaemonOptions parse(String[] args, Map<String, String> env) {
    String socket = null;
    String namespace = "default";
    String address = "";
    String ttrpc = null;
    String runDir = null;
    boolean debug = false;
    for (int i = 0; i < args.length; i++) {
      String a = args[i].replaceFirst("^--?", "");
      String value = i + 1 < args.length ? args[i + 1] : null;
      if (value == null && !a.equals("debug")) {
        throw new IllegalArgumentException("option " + args[i] + " needs a value");
      }
      switch (a) {
        case "debug" -> debug = true;
        case "socket" -> { socket = value; i++; }
        case "namespace" -> { namespace = value; i++; }
        case "address" -> { address = value; i++; }
        case "ttrpc-address" -> { ttrpc = value; i++; }
        case "run-dir" -> { runDir = value; i++; }
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
    Duration idle = Duration.ofMillis((long) (Double.parseDouble(env.getOrDefault("KRILL_IDLE_TIMEOUT", "30")) * 1000));
    String cache = env.getOrDefault("KRILL_CACHE_DIR", "/var/lib/krill/cache");
    long memory = Long.parseLong(env.getOrDefault("KRILL_DEFAULT_MEMORY_LIMIT", "0"));
    return new DaemonOptions(Path.of(socket), namespace, address, ttrpc.isEmpty() ? null : Path.of(ttrpc),
        runDir == null ? null : Path.of(runDir), debug, idle,
        cache.isEmpty() ? Optional.empty() : Optional.of(Path.of(cache)), memory);
  }
}
