package io.vmmig.qmp;
