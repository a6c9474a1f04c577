package io.vmmig.testkit;

import java.util.List;

/** A child JVM for {@link JvmDeathCleanupTest}: starts an idle QEMU, says where, and waits to be killed. */
public final class StrayQemuMain {
    private StrayQemuMain() {
    }

    public static void main(String[] args) throws Exception {
        QemuProcess q = QemuProcess.builder().name("stray").memoryMb(64).accelerator(Accelerator.TCG)
                .extraArgs(List.of("-S")).start();
        System.out.println("STARTED " + q.pid() + " " + q.dir());
        System.out.flush();
        Thread.currentThread().join();   // until killed
    }
}
