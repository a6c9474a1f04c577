package io.vmmig.strategy.qemu;

/**
 * What the destination side of a disk migration did.
 *
 * @param receivedPushBytes bytes pushed by the source and stored before the hand-over
 * @param pulledBytes       bytes pulled after the hand-over
 * @param pulledOnDemand    chunks pulled because the guest needed them
 * @param pulledBackground  chunks pulled in the background, hottest first
 * @param cancelledByWrite  pulls the guest made unnecessary by overwriting a whole chunk
 * @param pivotMillis       time of the switch from the agent's export to the local image
 */
public record DestinationReport(long receivedPushBytes, long pulledBytes, long pulledOnDemand, long pulledBackground,
                                long cancelledByWrite, long pivotMillis) {}
