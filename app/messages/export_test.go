package messages

// MessagesAfterSQL is MessagesAfter's statement, for the tests of its plan
// and of how often a live reply runs it.
const MessagesAfterSQL = messagesAfterSQL
