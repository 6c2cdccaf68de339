package calls

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"gorm.io/gorm"

	"switchboard/models"
)

// DefaultRegion is the country a number typed without "+" is read in.
// Call tracking's numbers are mostly North American; anything else is
// typed with its country code.
const DefaultRegion = "US"

// ParsePhone reads a phone number as a person types it ("(415) 555-0134",
// "+44 20 7183 8750") and returns it in E.164, or an Invalid error that
// says what to type.
func ParsePhone(input, label string) (string, error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return "", models.Errorf(models.Invalid, "Enter %s.", label)
	}
	if len(s) > 40 || strings.IndexFunc(s, func(r rune) bool {
		return !(unicode.IsDigit(r) || strings.ContainsRune(" +-().", r))
	}) >= 0 {
		return "", models.Errorf(models.Invalid, "Enter %s with digits only, for example (415) 555-0134 or +44 20 7183 8750.", label)
	}
	n, err := phonenumbers.Parse(s, DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", models.Errorf(models.Invalid, "%s is not a valid phone number. Check the digits; numbers outside the US and Canada start with + and the country code.", s)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// FormatPhone writes an E.164 number for people: national style for the
// default region, international otherwise. Anything unreadable ("anonymous")
// is shown as it is.
func FormatPhone(e164 string) string {
	if !strings.HasPrefix(e164, "+") {
		if e164 == "" {
			return "Unknown number"
		}
		return e164
	}
	// North American numbers, most of what a Call Log shows, are written
	// as people dial them there without parsing (libphonenumber's parse is
	// the costliest part of drawing a page of calls).
	if len(e164) == 12 && e164[1] == '1' && allDigits(e164[2:]) {
		return "(" + e164[2:5] + ") " + e164[5:8] + "-" + e164[8:]
	}
	n, err := phonenumbers.Parse(e164, DefaultRegion)
	if err != nil {
		return e164
	}
	if phonenumbers.GetRegionCodeForNumber(n) == DefaultRegion {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// MyPhone is the phone the viewer answers calls on ("" when none).
func (s *Service) MyPhone(ctx context.Context, v *models.Viewer) (string, error) {
	var p MemberPhone
	err := s.store.DB().WithContext(ctx).Where("membership_id = ?", v.Membership.ID).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("my phone: %w", err)
	}
	return p.Phone, nil
}

// SetMyPhone sets (or, with an empty input, removes) the viewer's own phone.
// Only people who may take calls have one. Removing it takes them out of
// the ring groups they answered, in the same transaction: a ring group
// rings phones.
func (s *Service) SetMyPhone(ctx context.Context, v *models.Viewer, input, ip string) (phone string, left []string, err error) {
	if !models.Can(v.Type(), models.CapTakeCalls) {
		return "", nil, models.Errorf(models.Forbidden, "Your type of user does not take calls.")
	}
	if strings.TrimSpace(input) != "" {
		if phone, err = ParsePhone(input, "your phone number"); err != nil {
			return "", nil, models.FieldErrors(map[string]string{"phone": models.ErrorMessage(err)})
		}
	}
	err = s.store.Tx(ctx, func(tx *gorm.DB) error {
		var old MemberPhone
		err := tx.Where("membership_id = ?", v.Membership.ID).Take(&old).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("read phone: %w", err)
		}
		if old.Phone == phone {
			return nil
		}
		if phone == "" {
			if err := tx.Where("membership_id = ?", v.Membership.ID).Delete(&MemberPhone{}).Error; err != nil {
				return fmt.Errorf("remove phone: %w", err)
			}
			left, err = s.leaveRingGroups(tx, v.Membership, nil, v.Actor(ip), "removed their phone number")
			if err != nil {
				return err
			}
		} else {
			row := MemberPhone{MembershipID: v.Membership.ID, Phone: phone, UpdatedAt: s.now()}
			if err := tx.Save(&row).Error; err != nil {
				return fmt.Errorf("save phone: %w", err)
			}
		}
		detail := FormatPhone(old.Phone) + " → " + FormatPhone(phone)
		if old.Phone == "" {
			detail = "Set to " + FormatPhone(phone)
		} else if phone == "" {
			detail = "Removed " + FormatPhone(old.Phone)
		}
		m := v.Membership
		return s.store.Audit(tx, models.AuditRecord{AccountID: v.Account.ID, Actor: v.Actor(ip), Action: "phone.updated", Target: &m, Detail: detail})
	})
	return phone, left, err
}

// RingGroupsOf lists the numbers whose ring group the viewer answers.
func (s *Service) RingGroupsOf(ctx context.Context, v *models.Viewer) ([]string, error) {
	entries, err := ringEntriesOf(s.store.DB().WithContext(ctx), []uint{v.Membership.ID})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.label()
	}
	return out, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
