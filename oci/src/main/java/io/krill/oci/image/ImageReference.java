package io.krill.oci.image;

import java.util.regex.Pattern;

/**
 * {@code [registry/]repository[:tag][@digest]} with Docker's defaults: no registry means docker.io,
 * a one-part docker.io repository lives under {@code library/}, no tag and no digest means {@code
 * latest}. {@code tag} is null only when a digest pins the image.
 */
public record ImageReference(String registry, String repository, String tag, Digest digest) {
  public static final String DOCKER_HUB = "docker.io";
  private static final Pattern REPOSITORY =
      Pattern.compile(
          "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*");
  private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");
  private static final Pattern REGISTRY =
      Pattern.compile("[a-zA-Z0-9.-]+(?::[0-9]+)?|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?");

  public ImageReference {
    if (registry == null || !REGISTRY.matcher(registry).matches()) {
      throw new IllegalArgumentException("invalid registry \"" + registry + "\"");
    }
    if (repository == null || !REPOSITORY.matcher(repository).matches()) {
      throw new IllegalArgumentException(
          "invalid repository \""
              + repository
              + "\": lowercase letters, digits and separators (. _ __ -) in /-separated parts");
    }
    if (tag != null && !TAG.matcher(tag).matches()) {
      throw new IllegalArgumentException("invalid tag \"" + tag + "\"");
    }
    if (tag == null && digest == null) {
      tag = "latest";
    }
  }

  public static ImageReference of(String registry, String repository, String tag) {
    return new ImageReference(registry, repository, tag, null);
  }

  public static ImageReference parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("empty image reference");
    }
    String rest = text;
    Digest digest = null;
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = Digest.parse(rest.substring(at + 1));
      rest = rest.substring(0, at);
    }
    String tag = null;
    int slash = rest.lastIndexOf('/');
    int colon = rest.lastIndexOf(':');
    if (colon > slash) {
      tag = rest.substring(colon + 1);
      rest = rest.substring(0, colon);
    }
    String registry = DOCKER_HUB;
    int first = rest.indexOf('/');
    if (first > 0) {
      String head = rest.substring(0, first);
      if (head.contains(".")
          || head.contains(":")
          || head.equals("localhost")
          || head.startsWith("[")) {
        registry = head;
        rest = rest.substring(first + 1);
      }
    }
    if (registry.equals("index.docker.io")) {
      registry = DOCKER_HUB;
    }
    if (registry.equals(DOCKER_HUB) && !rest.contains("/")) {
      rest = "library/" + rest;
    }
    try {
      return new ImageReference(registry, rest, tag, digest);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "invalid image reference \"" + text + "\": " + e.getMessage());
    }
  }

  /** The tag or digest the registry's manifest endpoint is asked for; the digest wins. */
  public String manifestReference() {
    return digest != null ? digest.toString() : tag;
  }

  /** The host the registry API is served on (Docker Hub's API host differs from its name). */
  public String apiHost() {
    return registry.equals(DOCKER_HUB) ? "registry-1.docker.io" : registry;
  }

  /** Loopback registries may be spoken to over plain HTTP without asking. */
  public boolean isLoopback() {
    String host = registry.replaceFirst(":[0-9]+$", "");
    return host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
  }

  public ImageReference withDigest(Digest d) {
    return new ImageReference(registry, repository, tag, d);
  }

  @Override
  public String toString() {
    return registry
        + "/"
        + repository
        + (tag == null ? "" : ":" + tag)
        + (digest == null ? "" : "@" + digest);
  }
}
