package models

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// SeedOptions describe the account the benchmark fills: one account with
// Members people (its first Admin included) and Companies companies.
type SeedOptions struct {
	AccountName string
	Members     int
	Companies   int
	// Password is the password of every seeded login; it is hashed once.
	Password string
	// Progress, when set, is told after each transaction how many people exist.
	Progress func(done, total int)
	// Seed makes the generated people reproducible.
	Seed uint64
}

// SeedResult is what the benchmark needs to know about a seeded account.
type SeedResult struct {
	Account Account
	// Admin is the first Admin; they log in with SeedOptions.Password.
	Admin Membership
	// Companies are the account's companies, active and disabled.
	Companies []Company
	// LoginEmails are a few other people who can log in with the password.
	LoginEmails []string
	// Active Admins (the first one aside), Managers and Reporting users
	// who can log in with the password, at most seedLogins of each.
	Admins, Managers, Reporters []Membership
}

// seedLogins is how many people of each type SeedResult names.
const seedLogins = 64

// seedBatch is how many people are made and written at a time.
const seedBatch = 2000

// seedTxRows is how many people one transaction writes: big enough that
// commits cost nothing, small enough that a failure is cheap to redo.
const seedTxRows = 20000

// SeedAccount writes a realistic account at benchmark scale: every type and
// status, about three companies per person who needs them, invitation links
// for invitees (some expired), logins for everyone active who may log in,
// and last-active times spread over months. It inserts in batches inside
// transactions, so 100,000 people take seconds, not minutes. It writes
// rows directly and bypasses the console's rules; it is for the benchmark
// and for tests, never for a real account.
func (s *Store) SeedAccount(ctx context.Context, o SeedOptions) (*SeedResult, error) {
	if o.Members < 1 || o.Companies < 1 {
		return nil, errors.New("seed: need at least one member and one company")
	}
	if o.AccountName == "" {
		o.AccountName = "Benchmark Calls"
	}
	hash, err := HashPassword(o.Password)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	now := s.Now()
	res := &SeedResult{}

	// The account, its first company and first Admin, as first start makes them.
	err = s.tx(ctx, func(tx *gorm.DB) error {
		first, last := SeedName(0)
		email := SeedEmail(first, last, 0)
		login := Login{Email: email, PasswordHash: hash, PasswordChangedAt: now, CreatedAt: now}
		if err := tx.Create(&login).Error; err != nil {
			return fmt.Errorf("seed admin login: %w", err)
		}
		m, err := s.createAccount(tx, AccountInput{AccountName: o.AccountName, CompanyName: seedCompanyName(0),
			TimeZone: "America/Chicago", FirstName: first, LastName: last, Email: email}, &login.ID)
		if err != nil {
			return err
		}
		res.Admin, res.Account = *m, *m.Account
		res.Admin.Account = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.bulkTx(ctx, func(b *bulk) error { return seedCompanies(b, res, o.Companies, now) }); err != nil {
		return nil, err
	}
	if err := s.db.WithContext(ctx).Where("account_id = ?", res.Account.ID).Order("id").Find(&res.Companies).Error; err != nil {
		return nil, fmt.Errorf("seed companies: %w", err)
	}
	if o.Progress != nil {
		o.Progress(1, o.Members)
	}
	for start := 1; start < o.Members; start += seedTxRows {
		end := min(start+seedTxRows, o.Members)
		err := s.bulkTx(ctx, func(b *bulk) error {
			// Each batch of people is indexed for search together, after
			// it is written (a batch at a time keeps the sorting small).
			index, resume, err := s.suspendSearch(b.db)
			if err != nil {
				return err
			}
			for from := start; from < end; from += seedBatch {
				var first uint
				if err := b.db.Raw("SELECT COALESCE(MAX(id), 0) + 1 FROM memberships").Scan(&first).Error; err != nil {
					return fmt.Errorf("seed: %w", err)
				}
				if err := seedPeople(b, rng, res, hash, now, from, min(from+seedBatch, end)); err != nil {
					return err
				}
				if err := index(first); err != nil {
					return err
				}
			}
			return resume()
		})
		if err != nil {
			return nil, err
		}
		if o.Progress != nil {
			o.Progress(end, o.Members)
		}
	}
	// The assignments under their companies for search, company by
	// company, now that all are written.
	companies := make([]uint, len(res.Companies))
	for i, c := range res.Companies {
		companies[i] = c.ID
	}
	if err := s.bulkTx(ctx, func(b *bulk) error { return s.indexCompanies(b.db, companies) }); err != nil {
		return nil, err
	}
	if s.Dialect == "postgres" {
		// What autovacuum would do a while after a bulk load, done now so
		// that what follows sees the steady state: the planner's
		// statistics, and the visibility map without which an index-only
		// scan reads the table row by row.
		if err := s.db.WithContext(ctx).Exec("VACUUM (ANALYZE) memberships, assignments, member_search, company_search, member_counts, tokens").Error; err != nil {
			return nil, fmt.Errorf("seed: vacuum: %w", err)
		}
	}
	return res, nil
}

// seedCompanies writes companies 1…n-1 of the account (the first was made
// with it); every fiftieth is disabled.
func seedCompanies(b *bulk, res *SeedResult, n int, now time.Time) error {
	zones := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London"}
	var rows [][]any
	for i := 1; i < n; i++ {
		status := CompanyActive
		if i%50 == 49 {
			status = CompanyDisabled
		}
		rows = append(rows, []any{res.Account.ID, seedCompanyName(i), status, zones[i%len(zones)], now, now})
	}
	return b.insert("companies", []string{"account_id", "name", "status", "time_zone", "created_at", "updated_at"}, rows)
}

// seedPeople writes people [from, to) with their logins, companies and
// invitation links.
func seedPeople(b *bulk, rng *rand.Rand, res *SeedResult, hash string, now time.Time, from, to int) error {
	accountID, adminID := res.Account.ID, res.Admin.ID
	members := make([]Membership, 0, to-from)
	for i := from; i < to; i++ {
		first, last := SeedName(i)
		m := Membership{AccountID: accountID, FirstName: first, LastName: last, Email: SeedEmail(first, last, i),
			SortName: sortName(first, last), Type: seedType(rng), InvitedByID: &adminID}
		created := now.Add(-time.Duration(rng.Int64N(int64(730 * 24 * time.Hour))))
		m.CreatedAt, m.UpdatedAt = created, created
		invited := created
		m.InvitedAt = &invited
		switch p := rng.IntN(100); {
		case m.Type.CanLogIn() && p < 15:
			m.Status = MemberInvited
			// Some links are fresh, some expired a while ago.
			recent := now.Add(-time.Duration(rng.Int64N(int64(14 * 24 * time.Hour))))
			m.InvitedAt, m.CreatedAt, m.UpdatedAt = &recent, recent, recent
		case p < 25:
			m.Status = MemberDisabled
		default:
			m.Status = MemberActive
		}
		if m.Status != MemberInvited {
			activated := created.Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
			m.ActivatedAt = &activated
		}
		if m.Type.CanLogIn() && m.Status != MemberInvited && rng.IntN(100) < 85 {
			// Most people who can log in have, some of them minutes ago.
			m.LastActiveAt = now.Add(-time.Duration(rng.Int64N(int64(120 * 24 * time.Hour))))
		}
		if m.Type == Admin {
			m.InvoiceEmails = rng.IntN(2) == 0
		}
		members = append(members, m)
	}

	// Logins for everyone who has set a password, then the people linked
	// to them, then what hangs off each person.
	var logins [][]any
	for _, m := range members {
		if m.Type.CanLogIn() && m.Status != MemberInvited {
			logins = append(logins, []any{m.Email, hash, m.CreatedAt, m.CreatedAt})
		}
	}
	loginIDs, err := b.insertReturning("logins", []string{"email", "password_hash", "password_changed_at", "created_at"}, logins, "email")
	if err != nil {
		return err
	}
	rows := make([][]any, len(members))
	for i, m := range members {
		var login any
		if id, ok := loginIDs[m.Email]; ok {
			login = id
			if m.Status == MemberActive && len(res.LoginEmails) < seedLogins {
				res.LoginEmails = append(res.LoginEmails, m.Email)
			}
		}
		rows[i] = []any{m.AccountID, login, m.FirstName, m.LastName, m.Email, m.SortName, m.Type, m.Status,
			m.LastActiveAt, *m.InvitedByID, m.InvitedAt, m.ActivatedAt, m.InvoiceEmails, m.CreatedAt, m.UpdatedAt}
	}
	ids, err := b.insertReturning("memberships", []string{"account_id", "login_id", "first_name", "last_name", "email", "sort_name",
		"type", "status", "last_active_at", "invited_by_id", "invited_at", "activated_at", "invoice_emails", "created_at", "updated_at"}, rows, "email")
	if err != nil {
		return err
	}
	var assignments, tokens [][]any
	for _, m := range members {
		id := ids[m.Email]
		if _, ok := loginIDs[m.Email]; ok && m.Status == MemberActive {
			named := Membership{ID: uint(id), AccountID: m.AccountID, FirstName: m.FirstName, LastName: m.LastName,
				Email: m.Email, SortName: m.SortName, Type: m.Type, Status: m.Status}
			var list *[]Membership
			switch m.Type {
			case Admin:
				list = &res.Admins
			case Manager:
				list = &res.Managers
			case Reporting:
				list = &res.Reporters
			}
			if list != nil && len(*list) < seedLogins {
				*list = append(*list, named)
			}
		}
		if !m.Type.SeesAllCompanies() {
			// One to five companies, three on average, none twice.
			n := min(1+rng.IntN(5), len(res.Companies))
			seen := make(map[int]bool, n)
			for len(seen) < n {
				k := rng.IntN(len(res.Companies))
				if !seen[k] {
					seen[k] = true
					assignments = append(assignments, []any{id, res.Companies[k].ID, kindOf(m.Type, m.Status), m.CreatedAt})
				}
			}
		}
		if m.Status == MemberInvited {
			tokens = append(tokens, []any{seedTokenHash(uint(id)), PurposeInvitation, accountID, id, adminID,
				m.InvitedAt.Add(InvitationLinkTTL), *m.InvitedAt})
		}
	}
	if err := b.insert("assignments", []string{"membership_id", "company_id", "member_kind", "created_at"}, assignments); err != nil {
		return err
	}
	return b.insert("tokens", []string{"hash", "purpose", "account_id", "membership_id", "created_by_id", "expires_at", "created_at"}, tokens)
}

// bulk writes many rows with multi-row INSERTs straight on the
// transaction's connection, without GORM's reflection, which costs more
// than the database here. (The rows of a statement come in a few fixed
// counts, so the prepared statements stay few.)
type bulk struct {
	ctx     context.Context
	db      *gorm.DB // the transaction
	tx      gorm.ConnPool
	dialect string
}

// bulkChunk rows per statement keeps the parameters of the widest table
// well under both databases' limits.
const bulkChunk = 500

// bulkTx runs fn in a transaction, with raw statements on its connection.
func (s *Store) bulkTx(ctx context.Context, fn func(b *bulk) error) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		return fn(&bulk{ctx: ctx, db: tx, tx: tx.Statement.ConnPool, dialect: s.Dialect})
	})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

func (b *bulk) statement(table string, cols []string, rows [][]any) (string, []any) {
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	args := make([]any, 0, len(rows)*len(cols))
	for i, r := range rows {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for j, v := range r {
			if j > 0 {
				sb.WriteString(", ")
			}
			args = append(args, v)
			sb.WriteString(bindVar(b.dialect, len(args)))
		}
		sb.WriteByte(')')
	}
	return sb.String(), args
}

func (b *bulk) insert(table string, cols []string, rows [][]any) error {
	for start := 0; start < len(rows); start += bulkChunk {
		sql, args := b.statement(table, cols, rows[start:min(start+bulkChunk, len(rows))])
		if _, err := b.tx.ExecContext(b.ctx, sql, args...); err != nil {
			return fmt.Errorf("seed %s: %w", table, err)
		}
	}
	return nil
}

// insertReturning inserts rows and returns their new IDs by the value of
// the key column (rows come back from RETURNING in no promised order).
func (b *bulk) insertReturning(table string, cols []string, rows [][]any, key string) (map[string]int64, error) {
	ids := make(map[string]int64, len(rows))
	for start := 0; start < len(rows); start += bulkChunk {
		sql, args := b.statement(table, cols, rows[start:min(start+bulkChunk, len(rows))])
		res, err := b.tx.QueryContext(b.ctx, sql+" RETURNING id, "+key, args...)
		if err != nil {
			return nil, fmt.Errorf("seed %s: %w", table, err)
		}
		for res.Next() {
			var id int64
			var k string
			if err := res.Scan(&id, &k); err != nil {
				res.Close()
				return nil, fmt.Errorf("seed %s: %w", table, err)
			}
			ids[k] = id
		}
		res.Close()
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("seed %s: %w", table, err)
		}
	}
	return ids, nil
}

// seedTokenHash stands in for the hash of a secret nobody holds: seeded
// invitation links are shown in the list but never opened.
func seedTokenHash(id uint) string {
	var b [16]byte
	copy(b[:8], "seedlink")
	binary.BigEndian.PutUint64(b[8:], uint64(id))
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:])
}

func seedType(rng *rand.Rand) UserType {
	switch p := rng.IntN(100); {
	case p < 3:
		return Admin
	case p < 15:
		return Manager
	case p < 70:
		return Reporting
	default:
		return Notification
	}
}

var seedFirstNames = strings.Fields(`
Aaliyah Aaron Abigail Adam Adrian Aiden Alan Albert Alejandro Alex Alexander Alexis Alice Alicia Allison
Alyssa Amanda Amber Amelia Amy Ana Andrea Andrew Angela Anna Anthony Antonio Ariana Arthur Ashley Aubrey
Austin Ava Benjamin Beth Betty Beverly Blake Brandon Brenda Brian Brittany Brooke Bruce Bryan Caleb Cameron
Carl Carlos Carmen Carol Caroline Catherine Charles Charlotte Chelsea Cheryl Chloe Christian Christina
Christopher Cindy Claire Connor Craig Crystal Cynthia Dakota Daniel Danielle David Deborah Denise Dennis
Derek Diana Diane Diego Donald Donna Dorothy Douglas Dylan Edward Eleanor Elena Elijah Elizabeth Ella Emily
Emma Eric Erica Ethan Eugene Evelyn Frances Frank Gabriel Gary George Gerald Grace Gregory Hailey Hannah
Harold Heather Helen Henry Isaac Isabella Jack Jacob Jacqueline James Janet Janice Jason Jasmine Javier
Jean Jeffrey Jennifer Jeremy Jesse Jessica Joan Joe John Jonathan Jordan Jorge Jose Joseph Joshua Joyce
Juan Judith Julia Julie Justin Karen Katherine Kathleen Kayla Keith Kelly Kenneth Kevin Kimberly Kyle
Laura Lauren Lawrence Leah Liam Lily Linda Lisa Logan Lucas Luis Madison Marcus Margaret Maria Marie
Marilyn Mark Martha Mary Mason Matthew Megan Melissa Michael Michelle Mila Miguel Nancy Natalie Nathan
Nicholas Nicole Noah Olivia Oscar Pamela Patricia Patrick Paul Peter Philip Priya Rachel Ralph Raymond
Rebecca Richard Robert Roger Ronald Rose Russell Ruth Ryan Samantha Samuel Sandra Sara Scott Sean
Sharon Shirley Sofia Sophia Stephanie Stephen Steven Susan Teresa Terry Thomas Timothy Tyler Victoria
Vincent Virginia Walter Wayne William Willie Wei Yuki Zachary Zoe`)

var seedLastNames = strings.Fields(`
Adams Alexander Allen Alvarez Anderson Bailey Baker Barnes Bell Bennett Brooks Brown Bryant Butler
Campbell Carter Castillo Chavez Chen Clark Coleman Collins Cook Cooper Cox Cruz Davis Diaz Edwards Evans
Fisher Flores Ford Foster Garcia Gibson Gomez Gonzales Gonzalez Graham Gray Green Griffin Gutierrez Hall
Hamilton Harris Hayes Henderson Hernandez Hill Howard Hughes Jackson James Jenkins Jimenez Johnson Jones
Jordan Kelly Kennedy Kim King Lee Lewis Long Lopez Lovelace Marshall Martin Martinez Mendoza Meyer Miller
Mitchell Moore Morales Morgan Morris Murphy Murray Myers Nelson Nguyen Ortiz Owens Parker Patel Perez
Perry Peterson Phillips Powell Price Ramirez Reed Reyes Reynolds Richardson Rivera Roberts Robinson
Rodriguez Rogers Ross Ruiz Russell Sanchez Sanders Schmidt Scott Shah Silva Simmons Smith Stewart
Sullivan Taylor Thomas Thompson Torres Turner Walker Wallace Ward Washington Watson Webb West White
Williams Wilson Wood Wright Young Zhang O'Brien Novak Kowalski Müller Søndergaard Dubois Rossi Tanaka
Okafor Haddad Ivanova Larsen Fitzgerald McAllister Abernathy Castellanos Delacroix Whitfield`)

// SeedName returns the i-th made-up person from common first and last names.
func SeedName(i int) (first, last string) {
	nf, nl := len(seedFirstNames), len(seedLastNames)
	// Every pairing once before any repeats.
	return seedFirstNames[i%nf], seedLastNames[(i/nf)%nl]
}

var seedDomains = []string{"gmail.com", "outlook.com", "yahoo.com", "icloud.com", "acmeplumbing.com",
	"northside-dental.com", "lakeviewlaw.com", "brightroofing.co", "summitauto.net", "example.org"}

// emailSafe turns the few accented or quoted last names into plain letters.
var emailSafe = strings.NewReplacer("'", "", "ü", "u", "ø", "o")

// SeedEmail makes the address of the i-th made-up person from their name;
// the index keeps it unique.
func SeedEmail(first, last string, i int) string {
	local := strings.ToLower(first) + "." + emailSafe.Replace(strings.ToLower(last))
	if i >= len(seedFirstNames) {
		local += strconv.Itoa(i)
	}
	return local + "@" + seedDomains[i%len(seedDomains)]
}

var (
	seedPlaces = strings.Fields(`Northside Lakeview Summit Riverside Oakwood Bayside Hillcrest Maple Cedar
Pinecrest Harbor Westgate Eastfield Brookside Sunset Granite Silver Golden Canyon Meadow Prairie Coastal
Valley Highland Metro`)
	seedTrades = strings.Fields(`Plumbing Dental Roofing Legal HVAC Auto Realty Insurance Landscaping Electric
Pest Solar Flooring Veterinary Chiropractic Fitness Storage Moving Catering Cleaning`)
)

// seedCompanyName returns the i-th made-up client business.
func seedCompanyName(i int) string {
	name := seedPlaces[i%len(seedPlaces)] + " " + seedTrades[(i/len(seedPlaces))%len(seedTrades)]
	if n := i / (len(seedPlaces) * len(seedTrades)); n > 0 {
		name += " " + strconv.Itoa(n+1)
	}
	return name
}

// CursorAt returns the users-list cursor of the person at a position of an
// account's whole list in the filter's order (f.Sort, f.Desc()), as if
// someone had paged that far: the next page starts after them. The
// benchmark opens pages deep in the list with it.
func (s *Store) CursorAt(ctx context.Context, accountID uint, f UserFilter, position int) (string, error) {
	f, err := CleanUserFilter(f)
	if err != nil {
		return "", err
	}
	o := orderOf(f.Sort)
	dir := " ASC"
	if f.Desc() {
		dir = " DESC"
	}
	cols := append(slices.Clone(o.keys), "memberships.id")
	var m Membership
	err = s.db.WithContext(ctx).Where("account_id = ?", accountID).Order(strings.Join(cols, dir+", ") + dir).
		Offset(position).Take(&m).Error
	if err != nil {
		return "", fmt.Errorf("cursor at %d: %w", position, err)
	}
	return encodeListCursor(listCursor{sort: f.Sort, desc: f.Desc(), start: int64(position) + 1, id: m.ID, key: o.key(&m)}), nil
}

// SetCompanies gives a person exactly these companies, bypassing the
// console's rules like SeedAccount: the benchmarks make viewers with 1, 5
// and 50 companies with it.
func SetCompanies(ctx context.Context, s *Store, memberID uint, companies []uint) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("membership_id = ?", memberID).Delete(&Assignment{}).Error; err != nil {
			return fmt.Errorf("set companies: %w", err)
		}
		now := s.Now()
		for _, c := range companies {
			if err := tx.Create(&Assignment{MembershipID: memberID, CompanyID: c, CreatedAt: now}).Error; err != nil {
				return fmt.Errorf("set companies: %w", err)
			}
		}
		return nil
	})
}
