package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/models/calls"
	"switchboard/views"
)

// phoneProps is the "Your phone" part of Account settings.
func (h *Handlers) phoneProps(c echo.Context) (views.PhoneProps, error) {
	v := ViewerOf(c)
	p := views.PhoneProps{TakesCalls: models.Can(v.Type(), models.CapTakeCalls)}
	if !p.TakesCalls {
		return p, nil
	}
	ctx := c.Request().Context()
	phone, err := h.Calls.MyPhone(ctx, v)
	if err != nil {
		return p, err
	}
	if phone != "" {
		p.Phone = calls.FormatPhone(phone)
	}
	if p.Answering, err = h.Calls.RingGroupsOf(ctx, v); err != nil {
		return p, err
	}
	return p, nil
}

// SetPhone serves POST /account/phone: the viewer's own phone number.
func (h *Handlers) SetPhone(c echo.Context) error {
	form, err := formOf(c, "phone")
	if err != nil {
		return err
	}
	phone, left, err := h.Calls.SetMyPhone(c.Request().Context(), ViewerOf(c), form.Get("phone"), c.RealIP())
	if isFieldError(err) {
		return h.renderAccount(c, http.StatusUnprocessableEntity, func(p *views.AccountProps) {
			p.Phone.Input, p.Phone.Error = form.Get("phone"), models.ErrorFields(err)["phone"]
		})
	}
	if err != nil {
		return err
	}
	msg := "Your phone number is now " + calls.FormatPhone(phone) + "."
	if phone == "" {
		msg = "Your phone number was removed."
		if len(left) > 0 {
			msg += " You no longer answer calls to " + strings.Join(left, ", ") + "."
		}
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: msg})
	return redirect(c, "/account#phone")
}
