package notify

import (
	"encoding/xml"
	"fmt"
	"net/url"

	"portal/app/i18n"
)

// VoiceCallbackPath is where a call's keypad answer is posted (route
// notify.voice_callback). The call's TwiML is built outside any request, so
// the path is a constant both sides share rather than a route lookup.
const VoiceCallbackPath = "/callbacks/voice"

// The words a call adds around its message, in locales/notify.*.toml. They
// sit under notify. so that no test takes them for a message template.
const (
	voiceAnsweredID = "notify.voice_reply.answered"  // after the key press
	voiceNoAnswerID = "notify.voice_reply.no_answer" // when no key was pressed
)

// twimlResponse is a TwiML document. encoding/xml escapes every text and
// attribute, so nothing in a message can change the call's instructions.
type twimlResponse struct {
	XMLName xml.Name     `xml:"Response"`
	Gather  *twimlGather `xml:"Gather,omitempty"`
	Say     []twimlSay   `xml:"Say"`
	Hangup  *struct{}    `xml:"Hangup,omitempty"`
}

// twimlGather reads its Say and waits for keys, then posts them to Action.
type twimlGather struct {
	NumDigits int    `xml:"numDigits,attr"`
	Timeout   int    `xml:"timeout,attr"`
	Method    string `xml:"method,attr"`
	Action    string `xml:"action,attr"`
	// FinishOnKey is empty so that # is itself the key collected: Twilio's
	// default makes # end the input and leaves it out of Digits.
	FinishOnKey string   `xml:"finishOnKey,attr"`
	Say         twimlSay `xml:"Say"`
}

// twimlSay is words read aloud.
type twimlSay struct {
	Language string `xml:"language,attr"`
	Voice    string `xml:"voice,attr,omitempty"`
	Text     string `xml:",chardata"`
}

// say reads text in lang: Welsh in a Welsh voice, anything else in British
// English with Twilio's default voice.
func say(lang, text string) twimlSay {
	if lang == "cy" {
		return twimlSay{Language: "cy-GB", Voice: "Polly.Gwyneth", Text: text}
	}
	return twimlSay{Language: "en-GB", Text: text}
}

// callTwiML is a call's script: read the message while waiting ten seconds
// for one key, post it to the callback with the call's answer token; if no
// key comes, say so and end.
func (t *Twilio) callTwiML(r Rendered) (string, error) {
	if r.AnswerToken == "" {
		return "", invalid("a call needs its answer token")
	}
	lang := i18n.Match(r.Lang, "")
	// Security: BASE_URL, the same rule as emailed links; the callback's
	// signature is checked against this very URL.
	action := t.portalBase + VoiceCallbackPath + "?" +
		url.Values{"challenge": {r.AnswerToken}, "lang": {lang}}.Encode()
	doc := twimlResponse{
		Gather: &twimlGather{NumDigits: 1, Timeout: 10, Method: "POST", Action: action, Say: say(lang, r.Body)},
		Say:    []twimlSay{say(lang, t.bundle.For(lang).T(voiceNoAnswerID))},
	}
	return marshalTwiML(doc)
}

// replyTwiML is the callback's answer, then hang up: thanks after #, and
// after any other key the same words as when no key came, so nobody is
// told to go back to a screen that will not move on.
func replyTwiML(bundle *i18n.Bundle, lang, digits string) (string, error) {
	id := voiceAnsweredID
	if digits != "#" {
		id = voiceNoAnswerID
	}
	doc := twimlResponse{Say: []twimlSay{say(lang, bundle.For(lang).T(id))}, Hangup: &struct{}{}}
	return marshalTwiML(doc)
}

func marshalTwiML(doc twimlResponse) (string, error) {
	b, err := xml.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("notify: twiml: %w", err)
	}
	return string(b), nil
}
