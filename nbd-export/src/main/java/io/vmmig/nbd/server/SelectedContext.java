package io.vmmig.nbd.server;

/** A metadata context selected by NBD_OPT_SET_META_CONTEXT, with the id the client was given for it. */
record SelectedContext(int id, MetaContext context) {}
