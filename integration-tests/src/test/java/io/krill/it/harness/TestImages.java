package io.krill.it.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/** The images the end-to-end tests import; each tarball is written once per test JVM. */
public enum TestImages {
  /** Every wasm test program at the root, plus a data file in a second layer. */
  PROGS("krill.test/progs:1"),
  /** Only hello.wasm, with it as the entrypoint. */
  HELLO("krill.test/hello:1"),
  /** The static native hello, for runc comparisons and harness checks. */
  HELLO_NATIVE("krill.test/hello-native:1");

  public static final String GREETING_PATH = "/data/greeting.txt";
  public static final String GREETING = "greetings from a layer\n";
  public static final String IMAGE_ENV = "IMAGE_VAR=from-image";

  private static final Map<TestImages, Path> TARBALLS = new EnumMap<>(TestImages.class);
  private static Path cacheDir;

  private final String ref;

  TestImages(String ref) {
    this.ref = ref;
  }

  public String ref() {
    return ref;
  }

  private OciImage build() {
    OciImage img = OciImage.named(ref);
    switch (this) {
      case PROGS -> {
        Map<String, byte[]> progs = new LinkedHashMap<>();
        for (String m : TestPrograms.wasmModules()) {
          progs.put("/" + m, TestPrograms.bytes(m));
        }
        img.layer(progs)
            .layer(Map.of(GREETING_PATH, GREETING.getBytes(StandardCharsets.UTF_8)))
            .entrypoint("/hello.wasm")
            .env("PATH=/", IMAGE_ENV)
            .workingDir("/");
      }
      case HELLO ->
          img.layer(Map.of("/hello.wasm", TestPrograms.bytes("hello.wasm")))
              .entrypoint("/hello.wasm");
      case HELLO_NATIVE ->
          img.layer(Map.of("/hello", TestPrograms.bytes("hello-native"))).entrypoint("/hello");
      default -> throw new IllegalStateException();
    }
    return img;
  }

  public synchronized Path tarball() {
    synchronized (TARBALLS) {
      return TARBALLS.computeIfAbsent(
          this, i -> i.build().writeTarball(cacheDir().resolve(i.name() + ".tar")));
    }
  }

  /** Imports this image into namespace {@code ns} of {@code c} and returns its reference. */
  public String importInto(Containerd c, String ns) {
    c.importImage(ns, tarball());
    return ref;
  }

  private static synchronized Path cacheDir() {
    if (cacheDir == null) {
      try {
        cacheDir = Files.createTempDirectory("krill-it-images-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      Path d = cacheDir;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> Host.deleteTree(d)));
    }
    return cacheDir;
  }
}
