package web

import (
	"github.com/labstack/echo/v4"

	"switchboard/handlers"
	"switchboard/models"
	"switchboard/static"
)

// routes is the whole surface of the console in one place. Role gates that
// apply to a whole group are set once on the group; per-object rules are
// asked of models by each handler. Every GET route also answers HEAD
// (answerHEAD in server.go).
func (s *Server) routes(e *echo.Echo, h *handlers.Handlers) {
	e.GET("/healthz", h.Health)
	e.GET("/readyz", h.Ready)
	e.GET("/static/*", staticFiles(static.Files))

	// Anonymous pages: first start, login, invitation links.
	e.GET("/setup/:token", h.SetupForm)
	e.POST("/setup/:token", h.SetupPost)
	e.GET("/login", h.LoginForm)
	e.POST("/login", h.LoginPost)
	e.POST("/logout", h.Logout)
	e.GET("/password/forgot", h.ForgotPasswordForm)
	e.POST("/password/forgot", h.ForgotPassword)
	e.GET("/password/reset/:token", h.ResetPasswordForm)
	e.POST("/password/reset/:token", h.ResetPassword)
	e.GET("/invite/:token", h.InvitationForm)
	e.POST("/invite/:token", h.InvitationPost)
	e.POST("/invite/:token/renew", h.RenewInvitation)

	// Signed-in pages. The gate is set per route, not on a group: Echo gives a
	// group with middleware a catch-all, which would answer unknown
	// addresses with a login redirect instead of 404.
	e.GET("/", h.Home, requireLogin)
	e.GET("/users", h.Users, requireLogin)
	e.GET("/users/company", h.UsersCompanyPicker, requireLogin)
	e.GET("/users/export.csv", h.ExportUsers, requireLogin)
	e.POST("/users/bulk", h.BulkConfirm, requireLogin)
	e.POST("/users/bulk/start", h.BulkStart, requireLogin)
	e.GET("/users/bulk/:id", h.BulkStatus, requireLogin)
	e.GET("/users/new", h.NewUser, requireLogin)
	e.POST("/users/new/:step", h.NewUserStep, requireLogin)
	e.GET("/users/:id/created", h.UserCreated, requireLogin)

	// Import people from a CSV file (issue 18): Admins only, and not even
	// a 403 for anyone else (models.CanImportMembers).
	importers := only(models.CanImportMembers)
	e.GET("/users/import", h.ImportForm, requireLogin, importers)
	e.POST("/users/import", h.ImportUpload, requireLogin, importers)
	e.GET("/users/import/template.csv", h.ImportTemplate, requireLogin, importers)
	e.GET("/users/import/:id", h.Import, requireLogin, importers)
	e.POST("/users/import/:id", h.ImportPost, requireLogin, importers)
	e.GET("/users/import/:id/outcomes.csv", h.ImportOutcomes, requireLogin, importers)
	e.POST("/users/:id/resend", h.ResendInvitation, requireLogin)
	e.GET("/help/request-access", h.HelpRequestAccess)

	// Edit User, promote and demote, disable and re-enable, delete, and the
	// audit log (journeys 7 and 8, issue 5). Admins only; models decide.
	e.GET("/users/:id", h.EditUser, requireLogin)
	e.POST("/users/:id", h.EditUserPost, requireLogin)
	e.POST("/users/:id/companies/add", h.AddUserCompany, requireLogin)
	e.GET("/users/:id/companies/remove", h.RemoveUserCompanyForm, requireLogin)
	e.POST("/users/:id/companies/remove", h.RemoveUserCompany, requireLogin)
	e.GET("/users/:id/promote", h.TypeChangeForm, requireLogin)
	e.GET("/users/:id/demote", h.TypeChangeForm, requireLogin)
	e.POST("/users/:id/type", h.ChangeType, requireLogin)
	e.GET("/users/:id/disable", h.DisableUserForm, requireLogin)
	e.POST("/users/:id/disable", h.DisableUser, requireLogin)
	e.POST("/users/:id/enable", h.EnableUser, requireLogin)
	e.GET("/users/:id/delete", h.DeleteUserForm, requireLogin)
	e.POST("/users/:id/delete", h.DeleteUser, requireLogin)
	e.POST("/users/:id/login-throttle/clear", h.ClearLoginThrottle, requireLogin)
	e.GET("/audit", h.Audit, requireLogin)

	// Companies (journeys 9 and 10): Admins manage them; everyone sees and
	// works within the ones they may see.
	e.GET("/companies", h.Companies, requireLogin)
	e.GET("/companies/new", h.NewCompany, requireLogin)
	e.POST("/companies", h.CreateCompany, requireLogin)
	e.GET("/companies/:id/edit", h.EditCompany, requireLogin)
	e.POST("/companies/:id", h.UpdateCompany, requireLogin)
	e.GET("/companies/:id/disable", h.ConfirmDisableCompany, requireLogin)
	e.POST("/companies/:id/disable", h.DisableCompany, requireLogin)
	e.POST("/companies/:id/enable", h.EnableCompany, requireLogin)
	e.GET("/companies/:id/users", h.CompanyUsers, requireLogin)
	e.POST("/companies/:id/users", h.AddCompanyUser, requireLogin)
	e.GET("/companies/:id/users/:member/remove", h.RemoveCompanyUserForm, requireLogin)
	e.POST("/companies/:id/users/:member/remove", h.RemoveCompanyUser, requireLogin)
	e.GET("/switch-company", h.SwitchCompany, requireLogin)

	// One login, several accounts (journey 6).
	e.GET("/account", h.Account, requireLogin)
	e.POST("/account/settings", h.UpdateAccountSettings, requireLogin)
	e.POST("/account/time-zone", h.SetMyTimeZone, requireLogin)
	e.GET("/account/password", h.ChangePasswordForm, requireLogin)
	e.POST("/account/password", h.ChangePassword, requireLogin)
	e.GET("/account/leave", h.ConfirmLeave, requireLogin)
	e.POST("/account/leave", h.Leave, requireLogin)
	e.GET("/access-requests", h.AccessRequests, requireLogin)
	e.POST("/access-requests", h.RequestAccess, requireLogin)
	e.POST("/access-requests/:id/withdraw", h.WithdrawAccessRequest, requireLogin)
	e.GET("/access-requests/:id/edit", h.EditAccessRequest, requireLogin)
	e.POST("/access-requests/:id", h.CorrectAccessRequest, requireLogin)
	e.GET("/access-requests/incoming", h.IncomingAccessRequests, requireLogin)
	e.GET("/access-requests/:id/grant", h.GrantForm, requireLogin)
	e.POST("/access-requests/:id/grant", h.Grant, requireLogin)
	e.GET("/access-requests/:id/decline", h.ConfirmDecline, requireLogin)
	e.POST("/access-requests/:id/decline", h.Decline, requireLogin)
	e.GET("/switch-account", h.SwitchAccount, requireLogin)
	e.POST("/switch-account", h.SwitchAccountPost, requireLogin)
	e.POST("/switch-company", h.SwitchCompanyPost, requireLogin)

	// The calls area (issue 16). Each gate names the row of the permission
	// matrix the route needs and how the object in its path is found: one
	// outside the viewer's scope is 404, a type without the row 403
	// (models/policy.go); models/calls asks the same row for the company of
	// every object.
	e.GET("/companies/:id", h.Company, requireLogin)
	e.GET("/companies/:id/numbers", h.Numbers, requireLogin, can(models.CapTrackingNumbers, h.CompanyInScope))
	e.POST("/companies/:id/numbers", h.CreateNumber, requireLogin, can(models.CapTrackingNumbers, h.CompanyInScope))
	e.GET("/companies/:id/numbers/:number", h.EditNumber, requireLogin, can(models.CapTrackingNumbers, h.CompanyInScope))
	e.POST("/companies/:id/numbers/:number", h.UpdateNumber, requireLogin, can(models.CapTrackingNumbers, h.CompanyInScope))
	e.GET("/companies/:id/numbers/:number/disable", h.DisableNumberForm, requireLogin, can(models.CapTrackingNumbers, h.CompanyInScope))
	e.POST("/companies/:id/numbers/:number/disable", h.DisableNumber, requireLogin, can(models.CapTrackingNumbers, h.CompanyInScope))
	e.POST("/companies/:id/numbers/:number/enable", h.EnableNumber, requireLogin, can(models.CapTrackingNumbers, h.CompanyInScope))
	e.GET("/companies/:id/numbers/:number/flow", h.Flow, requireLogin, can(models.CapTrackingNumbers, h.CompanyInScope))
	e.POST("/companies/:id/numbers/:number/flow", h.SaveFlow, requireLogin, can(models.CapTrackingNumbers, h.CompanyInScope))
	e.GET("/calls", h.CallLog, requireLogin, can(models.CapReviewCalls))
	e.GET("/companies/:id/calls", h.CompanyCallLog, requireLogin, can(models.CapReviewCalls, h.CompanyInScope))
	e.GET("/calls/:id", h.Call, requireLogin, can(models.CapReviewCalls, h.CallInScope))
	e.GET("/calls/:id/recording", h.CallRecording, requireLogin, can(models.CapReviewCalls, h.CallInScope))
	e.POST("/calls/:id/tags", h.AddCallTag, requireLogin, can(models.CapClassifyCalls, h.CallInScope))
	e.POST("/calls/:id/tags/:tag/remove", h.RemoveCallTag, requireLogin, can(models.CapClassifyCalls, h.CallInScope))
	e.POST("/calls/:id/notes", h.AddCallNote, requireLogin, can(models.CapClassifyCalls, h.CallInScope))
	e.POST("/calls/:id/notes/:note", h.EditCallNote, requireLogin, can(models.CapClassifyCalls, h.CallInScope))
	e.POST("/calls/:id/qualified", h.SetCallQualified, requireLogin, can(models.CapClassifyCalls, h.CallInScope))
	e.POST("/calls/:id/call-back", h.CallBack, requireLogin, can(models.CapTakeCalls, h.CallInScope))
	e.GET("/companies/:id/reports", h.Report, requireLogin, can(models.CapReviewCalls, h.CompanyInScope))
	e.GET("/companies/:id/reports.csv", h.ReportCSV, requireLogin, can(models.CapReviewCalls, h.CompanyInScope))
	e.POST("/account/phone", h.SetPhone, requireLogin, can(models.CapTakeCalls))

	// Notifications (issue 17): one's own at /account/notifications; a
	// person's on Edit User and on their notifications page; who receives
	// what for a company (Admins, and Managers for theirs). Each row asks
	// models.CanSetNotifications: outside scope 404, in it but not
	// theirs to set 403.
	e.GET("/account/notifications", h.AccountNotifications, requireLogin)
	e.POST("/account/notifications", h.SaveAccountNotifications, requireLogin)
	e.GET("/users/:id/notifications", h.MemberNotifications, requireLogin)
	e.POST("/users/:id/notifications", h.SaveMemberNotifications, requireLogin)
	e.GET("/companies/:id/notifications", h.CompanyNotifications, requireLogin)
	// The unsubscribe link of every notification email: no login. Its
	// POST (a mail program's one-click, RFC 8058, or the page's button)
	// has no session or CSRF token; its signed token is checked first
	// instead (webhooks.go). The GET only asks.
	e.GET("/unsubscribe/:token", h.UnsubscribeForm)
	s.signedLink(e, "/unsubscribe/:token", h.ValidUnsubscribeToken, h.Unsubscribe)

	// Twilio's webhooks (DESIGN.md contracts): no session and no CSRF token,
	// because each is verified by its X-Twilio-Signature first (webhooks.go).
	s.twilioWebhook(e, handlers.VoicePath, h.Voice)
	s.twilioWebhook(e, handlers.DialPath, h.Dial)
	s.twilioWebhook(e, handlers.WhisperPath, h.Whisper)
	s.twilioWebhook(e, handlers.StatusPath, h.Status)
	s.twilioWebhook(e, handlers.RecordingPath, h.Recording)
	s.twilioWebhook(e, handlers.DonePath, h.Done)
	s.twilioWebhook(e, handlers.SMSPath, h.SMS)
}
