package io.krill.cri;

import io.krill.cri.container.Containers;
import io.krill.cri.core.CriRuntime;
import io.krill.cri.core.CriVersion;
import io.krill.cri.grpc.CriServer;
import io.krill.cri.grpc.ImageFrontDoor;
import io.krill.cri.grpc.RuntimeFrontDoor;
import io.krill.cri.image.ImageStore;
import io.krill.cri.pod.PodFiles;
import io.krill.cri.pod.PodNetworks;
import io.krill.cri.pod.PodStore;
import io.krill.cri.pod.Pods;
import io.krill.cri.pod.cni.CniNetwork;
import io.krill.cri.streaming.StreamingServer;
import io.krill.daemon.DaemonConfigFile;
import io.krill.daemon.DaemonThreads;
import io.krill.daemon.LogFormat;
import io.krill.daemon.MemoryBudgetSetting;
import io.krill.daemon.ModuleCacheSetting;
import io.krill.daemon.Sizes;
import io.krill.engine.CompiledModules;
import io.krill.engine.Engines;
import io.krill.engine.WasmEngine;
import io.krill.engine.chicory.ChicoryEngine;
import io.krill.engine.wasmtime.WasmtimeEngine;
import io.krill.runtime.MemoryBudget;
import io.krill.runtime.TaskManager;
import io.krill.wagi.WagiServers;
import io.krill.wagi.WagiSettings;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code krill cri}: the composition root of the CRI daemon, and its command-line options (a
 * picocli command, listed by {@code krill help}). Each option falls back to the same key in the
 * {@code [cri]} table of {@code /etc/krill/config.toml} ({@code --cni-conf-dir} is {@code
 * cni_conf_dir}), then to its default; the file's shared keys ({@code default_memory_limit}, {@code
 * log_level}) apply too.
 */
@Command(
    name = "cri",
    sortOptions = false,
    usageHelpAutoWidth = true,
    description =
        "serve the Kubernetes CRI (runtime.v1) on a unix socket, running wasm pods in this JVM",
    footer = {
      "",
      "Each option falls back to its key in the [cri] table of /etc/krill/config.toml (or $KRILL_CONFIG):"
          + " --cni-conf-dir is cni_conf_dir, --plain-http-registry is plain_http_registries = [\"HOST:PORT\"];"
          + " default_memory_limit and log_level there apply to krill cri too."
    })
public final class CriMain implements Callable<Integer> {
  private static final System.Logger LOG = System.getLogger("krill.cri");
  static final Path DEFAULT_SOCKET = Path.of("/run/krill/krill.sock");
  static final Path DEFAULT_ROOT = Path.of("/var/lib/krill/cri");

  @Option(
      names = "--socket",
      paramLabel = "PATH",
      description = "the CRI socket (default: /run/krill/krill.sock)")
  Path socket;

  @Option(
      names = "--root",
      paramLabel = "DIR",
      description =
          "images, pods, containers and the module cache" + " (default: /var/lib/krill/cri)")
  Path root;

  @Option(
      names = "--cni-conf-dir",
      paramLabel = "DIR",
      description = "CNI network configs (default: /etc/cni/net.d)")
  Path cniConf;

  @Option(
      names = "--cni-bin-dir",
      paramLabel = "DIR",
      description = "CNI plugins (default: /usr/lib/cni)")
  Path cniBin;

  @Option(
      names = "--plain-http-registry",
      paramLabel = "HOST:PORT",
      description =
          "a registry spoken to over" + " plain HTTP (repeatable; loopback registries always are)")
  List<String> plainHttp;

  @Option(
      names = "--stream-address",
      paramLabel = "HOST:PORT",
      converter = HostPort.class,
      description =
          "the exec/attach streaming server (default: 127.0.0.1:0, port 0: any free port)")
  InetSocketAddress streamAddress;

  @Option(
      names = "--image-size-limit",
      paramLabel = "SIZE",
      converter = PositiveSize.class,
      description =
          "what one image may download and unpack to: bytes, or with a K, M, G or T suffix (binary),"
              + " e.g. 512Mi (default: 4G)")
  Long imageSizeLimit;

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "show this help and exit")
  boolean help;

  /**
   * The settings of one run: command line, then the config file's {@code [cri]} table, then
   * defaults.
   */
  record Settings(
      Path socket,
      Path root,
      Path cniConf,
      Path cniBin,
      Set<String> plainHttp,
      InetSocketAddress streamAddress,
      long imageSizeLimit,
      long defaultMemoryLimit,
      MemoryBudgetSetting memoryBudget,
      java.util.logging.Level logLevel,
      String engine,
      ModuleCacheSetting moduleCache) {}

  Settings settings(DaemonConfigFile file, Map<String, String> env) {
    Set<String> registries =
        new HashSet<>(plainHttp != null ? plainHttp : file.criList("plain_http_registries"));
    return new Settings(
        socket != null ? socket : file.cri("socket").map(Path::of).orElse(DEFAULT_SOCKET),
        (root != null ? root : file.cri("root").map(Path::of).orElse(DEFAULT_ROOT))
            .toAbsolutePath(),
        cniConf != null
            ? cniConf
            : file.cri("cni_conf_dir").map(Path::of).orElse(CniNetwork.DEFAULT_CONF_DIR),
        cniBin != null
            ? cniBin
            : file.cri("cni_bin_dir").map(Path::of).orElse(CniNetwork.DEFAULT_BIN_DIR),
        registries,
        streamAddress != null
            ? streamAddress
            : file.cri("stream_address")
                .map(s -> fromFile("stream_address", s, HostPort::parse))
                .orElse(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)),
        imageSizeLimit != null
            ? imageSizeLimit
            : file.cri("image_size_limit")
                .map(s -> fromFile("image_size_limit", s, Sizes::positive))
                .orElse(ImageStore.DEFAULT_MAX_IMAGE_BYTES),
        fromFile(
            "default_memory_limit",
            file.get("default_memory_limit", env, MemoryBudgetSetting.DEFAULT_MEMORY_LIMIT),
            Sizes::parse),
        fromFile(
            MemoryBudgetSetting.KEY,
            file.get(MemoryBudgetSetting.KEY, env, MemoryBudgetSetting.AUTO),
            MemoryBudgetSetting::resolve),
        fromFile("log_level", file.get("log_level", env, "info"), LogFormat::level),
        file.engine(env),
        ModuleCacheSetting.resolve(file, env));
  }

  /**
   * Run by {@code krill cri} (the CLI) or directly: {@code java io.krill.cri.CriMain [options]}.
   */
  public static void main(String[] argv) {
    int code =
        new CommandLine(new CriMain())
            .setCommandName("krill cri")
            .setOverwrittenOptionsAllowed(true)
            .execute(argv);
    if (code != 0) {
      System.exit(code);
    }
  }

  @Override
  public Integer call() throws Exception {
    Settings s = settings(DaemonConfigFile.load(System.getenv()), System.getenv());
    LogFormat.install(null, 0, s.logLevel(), false);
    Path socket = s.socket();
    Path root = s.root();
    Path cniConf = s.cniConf();
    Path cniBin = s.cniBin();
    Set<String> plainHttp = s.plainHttp();
    InetSocketAddress streamAddress = s.streamAddress();
    long imageSizeLimit = s.imageSizeLimit();
    ImageStore images = new ImageStore(root.resolve("images"), plainHttp, imageSizeLimit);
    PodStore pods = new PodStore(root.resolve("pods"));
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("krill-cri-timer"));
    // The daemon's engine: the only place that names one. The core first, then the front door on
    // it. Compiled modules are staged beside the socket (memory, and this daemon's own).
    // The daemon's setting is the default, a container's krill.io/engine annotation picks another;
    // each is built when first used.
    Map<String, Supplier<WasmEngine>> factories = new LinkedHashMap<>();
    CompiledModules.Limits inMemory =
        new CompiledModules.Limits(s.moduleCache().entries(), s.moduleCache().bytes());
    factories.put(
        "wasmtime",
        () ->
            new WasmtimeEngine(
                Optional.of(root.resolve("cache")),
                socket.resolveSibling(socket.getFileName() + ".compile"),
                inMemory));
    factories.put("chicory", () -> new ChicoryEngine(inMemory));
    Engines engines = new Engines(s.engine().equals("chicory") ? "chicory" : "wasmtime", factories);
    WasmEngine engine = engines.defaultEngine();
    TaskManager tasks =
        new TaskManager(
            engines,
            timer,
            (int) ProcessHandle.current().pid(),
            s.defaultMemoryLimit(),
            MemoryBudget.of(s.memoryBudget().bytes()),
            null);
    tasks.servingRequestsWith(new WagiServers(WagiSettings.defaults()));
    tasks.enforcingCpuLimits("/krill/cri");
    tasks.privateMountsUnder(root.resolve("mounts"));
    LOG.log(
        Level.INFO,
        "memory budget for guests: {0} MiB ({1}); default memory limit: {2}",
        String.valueOf(s.memoryBudget().bytes() >> 20),
        s.memoryBudget().how(),
        s.defaultMemoryLimit() == 0 ? "none" : (s.defaultMemoryLimit() >> 20) + " MiB");
    Containers containers = new Containers(root.resolve("containers"), images, tasks);
    CniNetwork cni = new CniNetwork(cniConf, cniBin);
    PodNetworks podNetworks = new PodNetworks(cni, root.resolve("pods"));
    // Before serving: kubelet must never see a pod READY whose network did not survive the restart.
    podNetworks.recheck(pods);
    StreamingServer streaming = StreamingServer.start(streamAddress);
    CriRuntime runtime =
        new CriRuntime(
            new Pods(pods, new PodFiles(root.resolve("pods")), cni, podNetworks), containers);
    CriServer server =
        new CriServer(
            socket,
            new RuntimeFrontDoor(runtime, streaming),
            new ImageFrontDoor(images, runtime::imageInUse));
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  streaming.close();
                  engines.close();
                },
                "krill-cri-shutdown"));
    LOG.log(
        Level.INFO,
        "krill cri {0} serving runtime.v1 on unix://{1}, exec/attach streams on {2}, engine {3}",
        CriVersion.krill(),
        socket,
        streaming.baseUrl(),
        engine.name());
    server.awaitTermination();
    return 0;
  }

  private interface Parse<T> {
    T parse(String s);
  }

  private static <T> T fromFile(String key, String value, Parse<T> parse) {
    try {
      return parse.parse(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("config " + key + ": " + e.getMessage());
    }
  }

  /** {@code HOST:PORT}, {@code [v6]:PORT}; port 0 is any free port. */
  static final class HostPort implements ITypeConverter<InetSocketAddress> {
    @Override
    public InetSocketAddress convert(String s) {
      try {
        return parse(s);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }

    static InetSocketAddress parse(String s) {
      int colon = s.lastIndexOf(':');
      if (colon < 0) {
        throw new IllegalArgumentException("'" + s + "' is not HOST:PORT (port 0: any free port)");
      }
      String host = s.substring(0, colon).replace("[", "").replace("]", "");
      try {
        return new InetSocketAddress(host, Integer.parseInt(s.substring(colon + 1)));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "bad port in '" + s + "' (HOST:PORT, port 0: any free port)");
      }
    }
  }

  /** A size over zero, in the words {@link Sizes} accepts. */
  static final class PositiveSize implements ITypeConverter<Long> {
    @Override
    public Long convert(String s) {
      try {
        return Sizes.positive(s);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
