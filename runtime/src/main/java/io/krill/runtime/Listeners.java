package io.krill.runtime;

import io.krill.oci.RuntimeSpec;
import io.krill.os.NetNamespaces;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * The listening sockets a container asks for with the {@value #ANNOTATION} annotation ({@code
 * tcp://0.0.0.0:8080[,tcp://...]}): opened and bound before the guest starts, in the network
 * namespace its spec names (a pod's, as containerd's CRI gives it) or else the daemon's, and handed
 * to the guest as preopened descriptors 3, 4, ... in the annotation's order.
 */
final class Listeners {
  static final String ANNOTATION = "krill.io/listen";

  private Listeners() {}

  /** The container's listeners, none without the annotation; a bad one refuses the create. */
  static List<ServerSocketChannel> open(String id, RuntimeSpec spec) {
    return open(id, spec, ANNOTATION);
  }

  /** The sockets of this annotation of the container (same form), none without it. */
  static List<ServerSocketChannel> open(String id, RuntimeSpec spec, String annotation) {
    return open(id, spec, annotation, "annotation " + annotation);
  }

  /**
   * As {@link #open(String, RuntimeSpec, String)}, the value said in messages to come from {@code
   * source} ({@code annotation krill.io/wagi}, or a key of the image's krill.toml).
   */
  static List<ServerSocketChannel> open(
      String id, RuntimeSpec spec, String annotation, String source) {
    String value = spec.annotations().get(annotation);
    if (value == null || value.isBlank()) {
      return List.of();
    }
    String netns = spec.namespacePath("network").orElse(null);
    List<ServerSocketChannel> out = new ArrayList<>();
    try {
      for (String item : value.split(",")) {
        String address = item.trim();
        InetSocketAddress at = parse(id, source, address);
        try {
          out.add(NetNamespaces.listen(netns, at));
        } catch (IOException e) {
          throw ModuleLoader.invalid(
              id,
              "cannot listen on "
                  + address
                  + (netns == null ? "" : " in network namespace " + netns)
                  + " ("
                  + source
                  + "): "
                  + e.getMessage()
                  + "; free the port or pick another address in the "
                  + (source.startsWith("annotation ") ? "annotation" : "annotation " + annotation));
        }
      }
      return List.copyOf(out);
    } catch (RuntimeException e) {
      close(out);
      throw e;
    }
  }

  private static InetSocketAddress parse(String id, String source, String address) {
    String why = "write it as tcp://HOST:PORT, for example tcp://0.0.0.0:8080";
    try {
      URI u = new URI(address);
      if (!"tcp".equals(u.getScheme())
          || u.getHost() == null
          || u.getPort() < 0
          || u.getPort() > 65535
          || !(u.getPath() == null || u.getPath().isEmpty())) {
        throw ModuleLoader.invalid(id, source + " has \"" + address + "\": " + why);
      }
      String host = u.getHost();
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      return new InetSocketAddress(InetAddress.getByName(host), u.getPort());
    } catch (URISyntaxException | UnknownHostException e) {
      throw ModuleLoader.invalid(
          id, source + " has \"" + address + "\" (" + e.getMessage() + "): " + why);
    }
  }

  static void close(List<ServerSocketChannel> listeners) {
    for (ServerSocketChannel l : listeners) {
      try {
        l.close();
      } catch (IOException ignored) {
        // closing a listener that failed: nothing left to release
      }
    }
  }
}
