package io.krill.cri.pod;

import io.krill.cri.io.FileTrees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The files containerd gives every container of a pod, written once under {@code <root>/pods/<id>/}
 * when the pod is created: {@code resolv.conf} (from the pod's DNS config, else a copy of the
 * host's), {@code hostname} and {@code hosts} (a copy of the host's).
 *
 * <p>WASI preview 1 preopens directories, never single files, so containerd's three file binds
 * cannot be reproduced. Each container instead gets an {@code /etc} directory of its own, preopened
 * read-only: the image's {@code /etc} (hard links, so nothing is copied) with the pod's three files
 * over it, each replaced by the container's own file mount at that path when kubelet gives one (its
 * managed {@code /etc/hosts}), copied when the container is created ({@code
 * io.krill.cri.container.ContainerEtc}). A directory mount at {@code /etc} wins over all of it.
 */
public final class PodFiles {
  public static final List<String> NAMES = List.of("hostname", "hosts", "resolv.conf");
  private static final Path HOST_RESOLV_CONF = Path.of("/etc/resolv.conf");
  private static final Path HOST_HOSTS = Path.of("/etc/hosts");
  private static final Path HOST_HOSTNAME = Path.of("/proc/sys/kernel/hostname");

  /** CRI's DNSConfig, protobuf-free. */
  public record Dns(List<String> servers, List<String> searches, List<String> options) {
    public Dns {
      servers = List.copyOf(servers);
      searches = List.copyOf(searches);
      options = List.copyOf(options);
    }
  }

  private final Path dir;

  public PodFiles(Path dir) {
    this.dir = dir;
  }

  public Path dir(String podId) {
    return dir.resolve(podId);
  }

  /**
   * The configured hostname; else the node's for a host-network pod (it shares the node's), else
   * the pod name.
   */
  public static String hostname(String configured, String podName, boolean hostNetwork)
      throws IOException {
    if (!configured.isEmpty()) {
      return configured;
    }
    return hostNetwork ? Files.readString(HOST_HOSTNAME).strip() : podName;
  }

  public void write(Pod pod, Dns dns) throws IOException {
    Path d = Files.createDirectories(dir(pod.id()));
    Files.writeString(d.resolve("hostname"), pod.hostname() + "\n");
    copyOrEmpty(HOST_HOSTS, d.resolve("hosts"));
    String resolv = resolvConf(dns);
    if (resolv.isEmpty()) {
      copyOrEmpty(HOST_RESOLV_CONF, d.resolve("resolv.conf"));
    } else {
      Files.writeString(d.resolve("resolv.conf"), resolv);
    }
  }

  /**
   * containerd's layout: one search line, a nameserver line per server, one options line; empty
   * when unset.
   */
  static String resolvConf(Dns dns) {
    StringBuilder b = new StringBuilder();
    if (!dns.searches().isEmpty()) {
      b.append("search ").append(String.join(" ", dns.searches())).append('\n');
    }
    for (String s : dns.servers()) {
      b.append("nameserver ").append(s).append('\n');
    }
    if (!dns.options().isEmpty()) {
      b.append("options ").append(String.join(" ", dns.options())).append('\n');
    }
    return b.toString();
  }

  public void remove(String podId) throws IOException {
    FileTrees.deleteTree(dir(podId));
  }

  private static void copyOrEmpty(Path host, Path dest) throws IOException {
    if (Files.isReadable(host)) {
      Files.copy(host, dest, StandardCopyOption.REPLACE_EXISTING);
    } else {
      Files.writeString(dest, "", StandardCharsets.UTF_8);
    }
  }
}
