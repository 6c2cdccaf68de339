package models

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// AccountSettingsInput is the Account settings form of an Admin.
type AccountSettingsInput struct {
	Name, TimeZone string
}

// UpdateAccountSettings renames the account and sets its time zone (what
// its people read times in unless they chose their own). Audited; a form
// that changes nothing writes nothing.
func (s *Store) UpdateAccountSettings(ctx context.Context, v *Viewer, in AccountSettingsInput, ip string) (changed bool, err error) {
	if !CanEditAccount(v.Type()) {
		return false, Errorf(Forbidden, "Only Admins can change the account's settings.")
	}
	fields := map[string]string{}
	name, err := CleanName(in.Name, "Account name", MaxCompanyLength)
	if err != nil {
		fields["account_name"] = ErrorMessage(err)
	}
	zone, err := CleanTimeZone(in.TimeZone)
	if err != nil {
		fields["time_zone"] = ErrorMessage(err)
	}
	if len(fields) > 0 {
		return false, FieldErrors(fields)
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		account, err := s.lockAccount(tx, v.Account.ID)
		if err != nil {
			return err
		}
		var details []string
		updates := map[string]any{}
		if name != account.Name {
			details = append(details, "Name "+account.Name+" → "+name)
			updates["name"] = name
		}
		if zone != account.TimeZone {
			details = append(details, "time zone "+orUTC(account.TimeZone)+" → "+zone)
			updates["time_zone"] = zone
		}
		if len(updates) == 0 {
			return nil
		}
		updates["updated_at"] = s.Now()
		if err := tx.Model(&Account{}).Where("id = ?", account.ID).Updates(updates).Error; err != nil {
			return fmt.Errorf("update account: %w", err)
		}
		changed = true
		return s.audit(tx, account.ID, v.Actor(ip), "account.updated", nil, strings.Join(details, "; "))
	})
	return changed, err
}

func orUTC(zone string) string {
	if zone == "" {
		return "UTC"
	}
	return zone
}

// SetLoginTimeZone sets the zone the viewer reads times in, in every
// account of their login; "" follows each account's zone.
func (s *Store) SetLoginTimeZone(ctx context.Context, v *Viewer, zone string) error {
	if strings.TrimSpace(zone) != "" {
		var err error
		if zone, err = CleanTimeZone(zone); err != nil {
			return FieldErrors(map[string]string{"my_time_zone": ErrorMessage(err)})
		}
	} else {
		zone = ""
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&Login{}).Where("id = ?", v.Login.ID).Update("time_zone", zone).Error; err != nil {
			return fmt.Errorf("set login time zone: %w", err)
		}
		return nil
	})
}
