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
  HELLO_NATIVE("krill.test/hello-native:1"),
  /**
   * An HTTP app: wagi.wasm as {@code /wagi.wasm} and {@code /routes/second.wasm}, and a {@code
   * /krill.toml} whose {@code [wagi]} table serves them on two routes at {@link #WAGI_APP_PORT}.
   */
  WAGI_APP("krill.test/wagi-app:1"),
  /** wagi.wasm and a {@code /krill.toml} whose {@code [wagi]} table has a malformed timeout. */
  WAGI_BAD_TOML("krill.test/wagi-bad-toml:1"),
  /** {@link BigModule}'s module of about 7 MiB as {@code /big.wasm}, its entrypoint. */
  BIG("krill.test/big:1");

  public static final String GREETING_PATH = "/data/greeting.txt";
  public static final String GREETING = "greetings from a layer\n";
  public static final String IMAGE_ENV = "IMAGE_VAR=from-image";

  /** {@link #BIG}'s module: 8,000 functions of 50 steps, about 7 MiB. */
  private static final int BIG_FUNCTIONS = 8000;

  private static final int BIG_STEPS = 50;

  /**
   * Where {@link #WAGI_APP}'s krill.toml listens: a port of 127.0.0.1 free when the JVM started.
   */
  public static final int WAGI_APP_PORT = Host.freeLoopbackPort();

  /** The malformed value of {@link #WAGI_BAD_TOML}'s {@code wagi.timeout}. */
  public static final String BAD_TIMEOUT = "thirty seconds";

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
      case WAGI_APP ->
          img.layer(
                  Map.of(
                      "/wagi.wasm",
                      TestPrograms.bytes("wagi.wasm"),
                      "/routes/second.wasm",
                      TestPrograms.bytes("wagi.wasm"),
                      "/krill.toml",
                      ("# an HTTP app: krill runs an instance of a module per request\n"
                              + "[wagi]\n"
                              + "listen = \"tcp://127.0.0.1:"
                              + WAGI_APP_PORT
                              + "\"\n"
                              + "timeout = \"5s\"\n"
                              + "concurrency = 4\n"
                              + "\n"
                              + "[[wagi.route]]\n"
                              + "path = \"/api/...\"\n"
                              + "module = \"/wagi.wasm\"\n"
                              + "\n"
                              + "[[wagi.route]]\n"
                              + "path = \"/second\"\n"
                              + "module = \"/routes/second.wasm\"\n")
                          .getBytes(StandardCharsets.UTF_8)))
              .entrypoint("/wagi.wasm");
      case WAGI_BAD_TOML ->
          img.layer(
                  Map.of(
                      "/wagi.wasm",
                      TestPrograms.bytes("wagi.wasm"),
                      "/krill.toml",
                      ("[wagi]\nlisten = \"tcp://127.0.0.1:"
                              + WAGI_APP_PORT
                              + "\"\ntimeout = \""
                              + BAD_TIMEOUT
                              + "\"\n")
                          .getBytes(StandardCharsets.UTF_8)))
              .entrypoint("/wagi.wasm");
      case BIG ->
          img.layer(Map.of("/big.wasm", BigModule.wasm(BIG_FUNCTIONS, BIG_STEPS)))
              .entrypoint("/big.wasm");
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
