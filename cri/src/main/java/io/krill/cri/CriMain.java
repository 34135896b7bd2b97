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
import io.krill.runtime.TaskManager;
import io.krill.engine.wasmtime.WasmtimeEngine;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * {@code krill cri}: the composition root of the CRI daemon. Options: {@code --socket PATH} (default
 * /run/krill/krill.sock), {@code --root DIR} (default /var/lib/krill/cri), {@code --cni-conf-dir},
 * {@code --cni-bin-dir}, {@code --plain-http-registry HOST:PORT} (repeatable; loopback registries always are),
 * {@code --stream-address HOST:PORT} (the exec/attach streaming server; default 127.0.0.1 on any free port),
 * {@code --image-size-limit SIZE} (bytes, or with a K, M or G suffix, binary: what one image may download and
 * unpack to; default 4G).
 */
public final class CriMain {
  private CriMain() {}

  public static void main(String[] argv) throws Exception {
    Path socket = Path.of("/run/krill/krill.sock");
    Path root = Path.of("/var/lib/krill/cri");
    Path cniConf = CniNetwork.DEFAULT_CONF_DIR;
    Path cniBin = CniNetwork.DEFAULT_BIN_DIR;
    Set<String> plainHttp = new HashSet<>();
    InetSocketAddress streamAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    long imageSizeLimit = ImageStore.DEFAULT_MAX_IMAGE_BYTES;
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (i + 1 >= argv.length) {
        usage("missing value for " + a);
      }
      switch (a) {
        case "--socket" -> socket = Path.of(argv[++i]);
        case "--root" -> root = Path.of(argv[++i]);
        case "--cni-conf-dir" -> cniConf = Path.of(argv[++i]);
        case "--cni-bin-dir" -> cniBin = Path.of(argv[++i]);
        case "--plain-http-registry" -> plainHttp.add(argv[++i]);
        case "--stream-address" -> streamAddress = hostPort(argv[++i]);
        case "--image-size-limit" -> imageSizeLimit = size(argv[++i]);
        default -> usage("unknown option " + a);
      }
    }
    root = root.toAbsolutePath();
    ImageStore images = new ImageStore(root.resolve("images"), plainHttp, imageSizeLimit);
    PodStore pods = new PodStore(root.resolve("pods"));
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "krill-cri-timer");
      t.setDaemon(true);
      return t;
    });
    // The daemon's engine: the only place that names one. The core first, then the front door on it.
    TaskManager tasks = new TaskManager(new WasmtimeEngine(Optional.of(root.resolve("cache"))), timer,
        (int) ProcessHandle.current().pid(), 0);
    Containers containers = new Containers(root.resolve("containers"), images, tasks);
    CniNetwork cni = new CniNetwork(cniConf, cniBin);
    PodNetworks podNetworks = new PodNetworks(cni, root.resolve("pods"));
    // Before serving: kubelet must never see a pod READY whose network did not survive the restart.
    podNetworks.recheck(pods);
    StreamingServer streaming = StreamingServer.start(streamAddress);
    CriRuntime runtime = new CriRuntime(new Pods(pods, new PodFiles(root.resolve("pods")), cni, podNetworks),
        containers);
    CriServer server = new CriServer(socket, new RuntimeFrontDoor(runtime, streaming),
        new ImageFrontDoor(images, runtime::imageInUse));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      streaming.close();
    }, "krill-cri-shutdown"));
    System.err.println("krill cri " + CriVersion.krill() + " serving runtime.v1 on unix://" + socket
        + ", exec/attach streams on " + streaming.baseUrl());
    server.awaitTermination();
  }

  private static InetSocketAddress hostPort(String s) {
    int colon = s.lastIndexOf(':');
    if (colon < 0) {
      usage("--stream-address wants HOST:PORT (port 0: any free port), not " + s);
    }
    String host = s.substring(0, colon).replace("[", "").replace("]", "");
    try {
      return new InetSocketAddress(host, Integer.parseInt(s.substring(colon + 1)));
    } catch (NumberFormatException e) {
      usage("--stream-address: bad port in " + s);
      return null;
    }
  }

  /** {@code 1048576}, {@code 512K}, {@code 16M}, {@code 4G} (an {@code i} after the suffix is allowed: 16Mi). */
  static long size(String s) {
    String t = s.strip().replaceFirst("(?i)i?b?$", "");
    int shift = 0;
    if (!t.isEmpty()) {
      switch (Character.toUpperCase(t.charAt(t.length() - 1))) {
        case 'K' -> shift = 10;
        case 'M' -> shift = 20;
        case 'G' -> shift = 30;
        case 'T' -> shift = 40;
        default -> shift = 0;
      }
    }
    try {
      long n = Long.parseLong(shift == 0 ? t : t.substring(0, t.length() - 1));
      if (n <= 0 || n > (Long.MAX_VALUE >> shift)) {
        throw new NumberFormatException();
      }
      return n << shift;
    } catch (NumberFormatException e) {
      usage("--image-size-limit: " + s + " is not a positive size (bytes, or e.g. 512M, 4G)");
      return 0;
    }
  }

  private static void usage(String why) {
    System.err.println("krill cri: " + why + "\nusage: krill cri [--socket PATH] [--root DIR] [--cni-conf-dir DIR]"
        + " [--cni-bin-dir DIR] [--plain-http-registry HOST:PORT]... [--stream-address HOST:PORT]"
        + " [--image-size-limit SIZE]");
    System.exit(2);
  }
}
