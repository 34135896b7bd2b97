package io.krill.cri.pod;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Pods by id, each persisted as {@code <root>/pods/<id>.json} so a restarted daemon still knows
 * them.
 */
public final class PodStore {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path dir;
  private final Map<String, Pod> pods = new ConcurrentHashMap<>();

  public PodStore(Path dir) throws IOException {
    this.dir = dir;
    Files.createDirectories(dir);
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json")).toList()) {
        Pod p = JSON.readValue(f.toFile(), Pod.class);
        pods.put(p.id(), p);
      }
    }
  }

  /** 64 hex digits, like containerd's ids, so kubelet and crictl prefixes work the same way. */
  public static String newId() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  public void put(Pod pod) {
    try {
      Path tmp = Files.createTempFile(dir, ".pod", ".tmp");
      JSON.writeValue(tmp.toFile(), pod);
      Files.move(
          tmp,
          dir.resolve(pod.id() + ".json"),
          StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot persist pod " + pod.id(), e);
    }
    pods.put(pod.id(), pod);
  }

  /** By full id or a unique prefix, as crictl passes them. */
  public Pod get(String idOrPrefix) {
    return find(idOrPrefix)
        .orElseThrow(
            () ->
                new KrillException(
                    ErrorCode.NOT_FOUND, "pod sandbox " + idOrPrefix + " not found"));
  }

  public Optional<Pod> find(String idOrPrefix) {
    Pod exact = pods.get(idOrPrefix);
    if (exact != null || idOrPrefix.isEmpty()) {
      return Optional.ofNullable(exact);
    }
    List<Pod> matches = pods.values().stream().filter(p -> p.id().startsWith(idOrPrefix)).toList();
    if (matches.size() > 1) {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT, "pod sandbox id prefix " + idOrPrefix + " is ambiguous");
    }
    return matches.stream().findFirst();
  }

  public void remove(String id) {
    try {
      Files.deleteIfExists(dir.resolve(id + ".json"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove pod " + id, e);
    }
    pods.remove(id);
  }

  public List<Pod> list() {
    return List.copyOf(pods.values());
  }
}
