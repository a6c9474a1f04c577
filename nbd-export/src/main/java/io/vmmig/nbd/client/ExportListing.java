package io.vmmig.nbd.client;

/** One export named by the server in reply to NBD_OPT_LIST. */
public record ExportListing(String name, String description) {}
