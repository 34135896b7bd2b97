package io.krill.cri.image;

import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * One pulled image as the CRI store keeps it. {@code id} is the config digest (what kubelet and
 * crictl call the image id); {@code rootfs} is the unpacked tree, relative to the store, or null
 * for a wasm-layer image, whose module is the blob {@code moduleLayer}. {@code user} is the
 * config's {@code User} ({@code user[:group]}, empty when unset), which ImageStatus reports.
 */
public record StoredImage(
    String id,
    List<String> repoTags,
    List<String> repoDigests,
    String manifestDigest,
    long size,
    String rootfs,
    String moduleLayer,
    List<String> entrypoint,
    List<String> cmd,
    List<String> env,
    String workingDir,
    String user) {
  public StoredImage {
    Objects.requireNonNull(id, "id");
    repoTags = repoTags == null ? List.of() : List.copyOf(repoTags);
    repoDigests = repoDigests == null ? List.of() : List.copyOf(repoDigests);
    entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
    cmd = cmd == null ? List.of() : List.copyOf(cmd);
    env = env == null ? List.of() : List.copyOf(env);
    workingDir = workingDir == null ? "" : workingDir;
    user = user == null ? "" : user;
  }

  public StoredImage withTags(List<String> tags) {
    return new StoredImage(
        id,
        tags,
        repoDigests,
        manifestDigest,
        size,
        rootfs,
        moduleLayer,
        entrypoint,
        cmd,
        env,
        workingDir,
        user);
  }

  /**
   * The image's user as CRI's ImageStatus reports it, as containerd does: the part of the config's
   * {@code User} before any {@code :group}, a number as the uid, anything else as the username.
   */
  public OptionalLong uid() {
    String u = userPart();
    if (u.isEmpty()) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(u));
    } catch (NumberFormatException notANumber) {
      return OptionalLong.empty();
    }
  }

  /** The user name of {@link #uid()}'s rule: empty for a numeric user or none. */
  public String username() {
    return uid().isPresent() ? "" : userPart();
  }

  private String userPart() {
    int colon = user.indexOf(':');
    return colon >= 0 ? user.substring(0, colon) : user;
  }

  /** Whether {@code name} (a tag, a repo digest or the id, full or as its hex) names this image. */
  public boolean isNamed(String name) {
    return repoTags.contains(name)
        || repoDigests.contains(name)
        || id.equals(name)
        || id.equals("sha256:" + name);
  }
}
