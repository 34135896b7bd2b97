package io.krill.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.cri.api.v1.*;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code krill cri} with a real CNI bridge network (Debian's containernetworking-plugins): NetworkReady, a pod IP
 * in the network's subnet from a namespace of its own, and teardown (CNI DEL, namespace gone) on stop and remove.
 */
class CriServerCniE2ETest {
    @TempDir Path tmp;

    @Test
    void podNetwork_getsIpAndIsTornDown() throws Exception {
        String bridge = "krcri" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 8);
        // 10.200.0.0/13 as the CRI tests use it: rarely routed anywhere; a random /24 keeps parallel runs apart.
        String prefix = "10." + (200 + ThreadLocalRandom.current().nextInt(8)) + "." + ThreadLocalRandom.current()
                .nextInt(256);
        Path cni = Files.createDirectories(tmp.resolve("cni"));
        Files.writeString(cni.resolve("10-krill.conflist"),
                CriConfig.cniConflist(bridge, bridge, prefix + ".0/24", tmp.resolve("ipam")));
        Path socket = tmp.resolve("run/krill.sock");
        Process daemon = CriServerE2ETest.startDaemon(socket, tmp.resolve("root"), cni, tmp.resolve("daemon.log"));
        try (CriClient c = new CriClient(socket)) {
            RuntimeCondition net = c.runtime().status(StatusRequest.getDefaultInstance()).getStatus()
                    .getConditionsList().stream().filter(x -> x.getType().equals("NetworkReady")).findFirst()
                    .orElseThrow();
            assertTrue(net.getStatus(), net.toString());

            PodSandboxConfig config = PodSandboxConfig.newBuilder()
                    .setMetadata(PodSandboxMetadata.newBuilder().setName("net").setNamespace("default").setUid("u1"))
                    .putLabels("app", "net").build();
            String pod = c.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
                    .getPodSandboxId();
            PodSandboxStatus s = c.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                    .setPodSandboxId(pod).build()).getStatus();
            assertTrue(s.getNetwork().getIp().startsWith(prefix + "."), s.getNetwork().toString());
            assertEquals(NamespaceMode.POD, s.getLinux().getNamespaces().getOptions().getNetwork());
            Path netns = Path.of("/run/netns/krill-" + pod.substring(0, 16));
            assertTrue(Files.exists(netns), netns + " should exist while the pod runs");
            Process ip = new ProcessBuilder("ip", "netns", "exec", netns.getFileName().toString(), "ip", "-4", "addr",
                    "show", "eth0").redirectErrorStream(true).start();
            String addr = new String(ip.getInputStream().readAllBytes());
            ip.waitFor();
            assertTrue(addr.contains(s.getNetwork().getIp()), addr);

            c.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
            assertFalse(Files.exists(netns), "the namespace goes with StopPodSandbox");
            c.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
            c.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
            assertEquals(0, c.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsCount());
            try (var leases = Files.list(tmp.resolve("ipam").resolve(bridge))) {
                assertTrue(leases.noneMatch(p -> p.getFileName().toString().startsWith(prefix)),
                        "CNI DEL released the address");
            }
        } finally {
            daemon.destroy();
            if (!daemon.waitFor(10, TimeUnit.SECONDS)) {
                daemon.destroyForcibly();
            }
            // The bridge plugin never deletes the bridge it made: it outlives every pod by design.
            Host.run("ip", "link", "del", bridge);
        }
    }
}
