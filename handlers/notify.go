package handlers

import (
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/models"
	"switchboard/models/notify"
	"switchboard/views"
)

// Notifications (issue 17): what a person receives by email, set on their
// Edit User page, on a page of its own (Managers reach people's from the
// company's notifications page), and by everyone for themselves at
// /account/notifications; who receives what for a company; and the
// unsubscribe links of the emails. models/notify asks the one policy
// (models.CanSetNotifications) for every row.

// notifySection builds the Notifications section of a person for the
// viewer, posting to action and returning to ret.
func (h *Handlers) notifySection(c echo.Context, memberID uint, action, ret string) (*views.NotifySectionProps, error) {
	v := ViewerOf(c)
	s, err := h.Notify.SettingsOf(c.Request().Context(), v, memberID)
	if err != nil {
		return nil, err
	}
	return &views.NotifySectionProps{Settings: s, Action: action, Return: ret, Zone: h.Store.Zone(v)}, nil
}

// MemberNotifications serves GET /users/:id/notifications.
func (h *Handlers) MemberNotifications(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	return h.renderMemberNotifications(c, http.StatusOK, id, "")
}

func (h *Handlers) renderMemberNotifications(c echo.Context, status int, id uint, refusal string) error {
	v := ViewerOf(c)
	if id == v.Membership.ID {
		// One's own have their own address.
		return h.renderOwnNotifications(c, status, refusal)
	}
	path := views.MemberNotificationsPath(id)
	sec, err := h.notifySection(c, id, path, path)
	if err != nil {
		return err
	}
	sec.Error = refusal
	return h.render(c, status, "users", views.NotificationsPage(views.NotifyPageProps{Section: *sec,
		EditUser: models.CanEditMember(v.Type())}))
}

// SaveMemberNotifications serves POST /users/:id/notifications: one row.
func (h *Handlers) SaveMemberNotifications(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	return h.saveNotifications(c, id, views.MemberNotificationsPath(id))
}

// AccountNotifications serves GET /account/notifications: one's own.
func (h *Handlers) AccountNotifications(c echo.Context) error {
	return h.renderOwnNotifications(c, http.StatusOK, "")
}

func (h *Handlers) renderOwnNotifications(c echo.Context, status int, refusal string) error {
	v := ViewerOf(c)
	sec, err := h.notifySection(c, v.Membership.ID, "/account/notifications", "/account/notifications")
	if err != nil {
		return err
	}
	sec.Error = refusal
	return h.render(c, status, "account", views.NotificationsPage(views.NotifyPageProps{Section: *sec, Own: true}))
}

// SaveAccountNotifications serves POST /account/notifications.
func (h *Handlers) SaveAccountNotifications(c echo.Context) error {
	return h.saveNotifications(c, ViewerOf(c).Membership.ID, "/account/notifications")
}

// rowInput reads one row of the Notifications section. Values no form of
// ours sends are a 400; a company outside the viewer's scope is the 404
// models answers.
func rowInput(c echo.Context) (notify.RowInput, string, error) {
	form, err := formOf(c, "company", "calls", "texts", "daily", "weekly", "monthly", "return")
	if err != nil {
		return notify.RowInput{}, "", err
	}
	var in notify.RowInput
	switch raw := form.Get("company"); raw {
	case "":
		return in, "", models.Errorf(models.BadRequest, "The form does not say which company it is about.")
	case "all":
		in.All = true
	default:
		if in.CompanyID, err = parseID(raw); err != nil {
			return in, "", err
		}
	}
	filter, ok := notify.ParseCallFilter(form.Get("calls"))
	if !ok || len(form["calls"]) != 1 {
		return in, "", models.Errorf(models.BadRequest, "Choose which calls send an alert.")
	}
	in.Choice.Calls = filter
	for name, dst := range map[string]*bool{"texts": &in.Choice.Texts, "daily": &in.Choice.Daily,
		"weekly": &in.Choice.Weekly, "monthly": &in.Choice.Monthly} {
		switch form.Get(name) {
		case "on":
			*dst = true
		case "":
		default:
			return in, "", models.Errorf(models.BadRequest, "The form's %s choice is not valid.", name)
		}
	}
	return in, form.Get("return"), nil
}

func (h *Handlers) saveNotifications(c echo.Context, memberID uint, fallback string) error {
	v := ViewerOf(c)
	in, ret, err := rowInput(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	changed, err := h.Notify.SaveRow(ctx, v, memberID, in, c.RealIP())
	if isFieldError(err) {
		msg := models.ErrorFields(err)["company"]
		if memberID == v.Membership.ID {
			return h.renderOwnNotifications(c, http.StatusUnprocessableEntity, msg)
		}
		return h.renderMemberNotifications(c, http.StatusUnprocessableEntity, memberID, msg)
	}
	if err != nil {
		return err
	}
	msg := "Nothing changed."
	if changed {
		msg = "Saved: " + in.Choice.Describe() + "."
		if in.Choice.None() {
			msg = "Saved: nothing is sent for it now."
		}
	}
	_ = h.Sessions.Flash(c, views.Flash{Kind: "success", Message: msg})
	return redirect(c, returnPath(ret, fallback))
}

// CompanyNotifications serves GET /companies/:id/notifications: who
// receives what for the company.
func (h *Handlers) CompanyNotifications(c echo.Context) error {
	id, err := parseID(c.Param("id"))
	if err != nil {
		return err
	}
	res, err := h.Notify.CompanyRecipients(c.Request().Context(), ViewerOf(c), id)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "companies", views.CompanyNotificationsPage(views.CompanyNotifyProps{CompanyNotifications: res}))
}

// UnsubscribeForm serves GET /unsubscribe/:token: what the link stops,
// and a button to stop it. A GET never changes anything: mail scanners
// open links.
func (h *Handlers) UnsubscribeForm(c echo.Context) error {
	token := c.Param("token")
	u, err := h.Notify.UnsubscribeInfo(c.Request().Context(), token)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "", views.UnsubscribePage(views.UnsubscribeProps{U: u, Token: token}))
}

// Unsubscribe serves POST /unsubscribe/:token: a mail client's one-click
// unsubscribe (RFC 8058: the body says List-Unsubscribe=One-Click) or the
// confirmation page's button. It carries no session and no CSRF token:
// the token's signature, checked before it gets here (web), is what lets
// it through.
func (h *Handlers) Unsubscribe(c echo.Context) error {
	oneClick := false
	ct, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if ct == echo.MIMEApplicationForm || ct == echo.MIMEMultipartForm {
		if form, err := c.FormParams(); err == nil {
			oneClick = form.Get("List-Unsubscribe") == "One-Click"
		}
	}
	u, err := h.Notify.Unsubscribe(c.Request().Context(), c.Param("token"), c.RealIP(), oneClick)
	if err != nil {
		return err
	}
	return h.render(c, http.StatusOK, "", views.UnsubscribePage(views.UnsubscribeProps{U: u, Done: true}))
}

// ValidUnsubscribeToken tells web's signature check whether a token is
// one we signed.
func (h *Handlers) ValidUnsubscribeToken(token string) bool { return h.Notify.ValidToken(token) }
